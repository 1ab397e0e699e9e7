"""Stop words for themes: English news filler beyond scikit-learn's list, and function words
of a few common feed languages, so that labels and clusters of non-English items are not
built from "und" or "les". Written for this project; foreign words that are also English
topic words ("war", "die", "sue", "com") are left out on purpose."""

from __future__ import annotations

# English words that name no topic, beyond scikit-learn's list (news filler, dates).
ENGLISH_EXTRA = frozenset(
    """
said says say told mr mrs ms just like also new year years people time make way week weeks
day days month read continue reading post appeared first click subscribe share don going
got set want added including according did does use used good big best number lot today
yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday january
february march april may june july august september october november december old given
different hope despite able likely looking came come went taking took making made put jan
feb mar apr jun jul aug sep sept oct nov dec really using thing things think know need
expected announced
""".split()
)

# What is left of a contraction when the apostrophe splits it ("doesn't"): never a label.
CONTRACTED = frozenset(
    "doesn didn isn wasn couldn wouldn shouldn aren weren hasn haven hadn mustn needn".split()
)

GERMAN = """
aber alle allem allen aller alles als am an andere anderen auch auf aus bei beim bereits
dafür darauf daran davon dazu ganz mal hat während
bin bis bisher bist da dabei damit dann darf darum das dass dem den denen denn der deren
des dessen dich die dir doch dort du durch eben ein eine einem einen einer eines einige er es
etwa euch für gab gegen geht gibt habe haben hatte hatten hier hin ich ihm ihn ihnen ihr
ihre ihrem ihren ihrer im immer in ins ist jedoch jetzt kann kein keine können könnte
machen macht mehr mit muss müssen nach nachdem neue neuen nicht noch nun nur ob oder ohne
schon sehr sei seien sein seine seinem seinen seiner seit sich sie sind so soll sollen
sollte sowie über um und uns unter viel viele vom von vor wann warum was weil weiter
weitere wenn wer werden wie wieder wir wird wo wollen wurde wurden zu zum zur zwar zwei
zwischen
"""
FRENCH = """
au aux avec ce ces cette dans de des du elle elles en est et été être eu il ils je la le
les leur leurs lui mais me même mes moi mon ne nos notre nous on ont ou où par pas plus
pour qu que qui sa sans se ses son sont sur ta te tes toi ton tous tout toute très tu un
une vos votre vous ça été aussi comme alors après avant chez depuis donc encore entre
fait faire peut sous selon
"""
SPANISH = """
al algo algunos ante antes como con contra cual cuando de del desde donde durante el ella
ellas ellos en entre era es esa esas ese eso esos esta estaba estado estas este esto estos
fue fueron ha han hasta hay la las le les lo los más mi muy nada ni no nos o otra otros
para pero poco por porque que quien se sea ser si sido sin sobre su sus también tanto te
tiene todo todos tu un una uno unos ya según además
"""
PORTUGUESE = """
ao aos as até com como da das de dela dele depois do dos e ela ele eles em entre era essa
esse esta este eu foi foram há isso isto já lhe mais mas me mesmo muito na nas não nem no
nos num numa os ou para pela pelo por quando que quem se sem ser seu seus sua suas também
te tem ter um uma umas uns você segundo sobre ainda
"""
ITALIAN = """
ad agli al alla alle anche che chi ci come con da dal dalla dei del della delle di dove
ed gli ha hanno il in io la le lei lo loro lui ma mi nei nel nella non noi per più quale
quando quello questa questo se si sono su sua sue suo suoi tra un una uno essere stato
"""
DUTCH = """
aan al alles als bij daar dan dat de der deze die dit door dus een eens en er ge geen
haar had heb hebben heeft hem het hier hij hoe hun iets ik in is ja je kan kon maar meer
met mij naar niet niets nog nu of om omdat ons ook op over reeds te tegen toch toen tot u
uit uw van veel voor want waren was wat we wel werd wie wij wordt zal ze zei zelf zich zij
zijn zo zonder zou
"""

RUSSIAN = """
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни
быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где
есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж
тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее
были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот
через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед
иногда лучше чуть том нельзя такой им более всегда конечно всю между это как
"""

# English words with a meaning of their own, dropped from the lists above whatever they are.
_ENGLISH = frozenset(
    """
sin era die door hoe son ton par dove bin den dos eu os war art gift fast hat man
plus met los las dem com van sea sue dan ad allen non ons al ed want come
""".split()
)

STOP_WORDS_OTHER = frozenset(
    word
    for block in (GERMAN, FRENCH, SPANISH, PORTUGUESE, ITALIAN, DUTCH, RUSSIAN)
    for word in block.split()
    if word not in _ENGLISH
)

# Every function word of a language, English homographs ("die", "den") included: for
# labels of stories known to be in that language.
BY_LANGUAGE = {
    code: frozenset(block.split())
    for code, block in (
        ("de", GERMAN),
        ("fr", FRENCH),
        ("es", SPANISH),
        ("pt", PORTUGUESE),
        ("it", ITALIAN),
        ("nl", DUTCH),
        ("ru", RUSSIAN),
    )
}
