"""Stop words, one source for every part that needs them: the summarizer (function words
that carry no content), section labels and topics (function words plus news filler), and
the language detector (function words are the surest sign of a language).

The lists are our own, short and closed-class (articles, pronouns, prepositions,
conjunctions, auxiliaries, frequent adverbs), for the languages feeds are most often in.
A language without a list of ours uses the list sumy ships, where it has one. Month and
weekday names come from the CLDR data Babel ships, for any language Babel knows.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

from newsletter.text import language_code as iso_code

# English function words. Shorter than sumy's English list on purpose: that one also drops
# content words ("said", "new", "best"), which ranked worse in summaries (benchmarks/results).
ENGLISH = """
a an the this that these those each every either neither some any no all both half
several many much more most few fewer less least other others another such what which
whatever whichever own same i me my mine myself we us our ours ourselves you your yours
yourself yourselves he him his himself she her hers herself it its itself they them their
theirs themselves one ones someone somebody something anyone anybody anything everyone
everybody everything nobody nothing none who whom whose whoever where when why how about
above across after against along amid among amongst around as at before behind below
beneath beside besides between beyond by despite down during except for from in inside
into like near of off on onto out outside over past per since than through throughout
till to toward towards under underneath unlike until up upon via with within without and
but or nor so yet because although though while whereas whether if unless once lest am is
are was were be been being have has had having do does did doing done will would shall
should can could may might must ought not yes very too also just only even still already
again ever never always often sometimes here there then now thus hence therefore however
otherwise else perhaps rather quite almost enough indeed instead maybe anyway somewhat
etc cannot don't doesn't didn't isn't wasn't aren't weren't can't couldn't won't wouldn't
shouldn't hasn't haven't hadn't it's i'm he's she's that's there's they're we're you're
i've we've they've you've i'd he'd she'd we'd they'd you'd i'll he'll she'll we'll they'll
you'll let's
"""

# Function words of other languages, by ISO 639-1 code.
FUNCTION_WORDS = {
    "de": """
ab aber alle allem allen aller alles als also am an andere anderen anderer anderes ans auch
auf aus bei beide beiden beim bereits bin bis bisher bist bzw da dabei dadurch dafür dagegen
daher damit danach dann daran darauf darüber darum das dass daß davon dazu dein deine dem den
denen denn dennoch der deren des deshalb dessen dich die dies diese diesem diesen dieser
dieses dir doch dort du durch eben ein eine einem einen einer eines einige einigen einmal er
es etwa etwas euch euer eure für gegen gewesen hab habe haben hat hatte hatten hätte hätten
hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im immer in ins ist ja
jede jedem jeden jeder jedes jedoch jene jener jetzt kann kannst kein keine keinem keinen
keiner können könnte könnten man mehr mein meine mich mir mit muss musste müssen nach
nachdem nein nicht nichts noch nun nur ob oder ohne sehr sei seien sein seine seinem seinen
seiner seines seit selbst sich sie sind so sogar solche soll sollen sollte sollten sondern
sowie sowohl über um und uns unser unsere unter viel viele vielen vom von vor wann war waren
warum was weil welche welchem welchen welcher welches wenn wer werde werden wie wieder will
wir wird wo wollen wollte worden wurde wurden würde würden zu zudem zum zur zwar zwischen
schon während weiter weitere darf dürfen machen macht gab zwei
""",
    "fr": """
à au aux avec ce ceci cela celle celles celui ces cet cette ceux chez comme contre dans de
depuis des donc dont du elle elles en encore entre est et étaient était été être eu eux il
ils je jusqu la le les leur leurs lors lorsque lui ma mais me même mêmes mes moi mon ne ni
nos notre nous on ont ou où par parce pas pendant peu peut peuvent plus pour pourquoi puis
qu quand que quel quelle quelles quels qui sa sans se selon sera seront ses si son sont sous
sur ta te tes toi ton tous tout toute toutes très tu un une vers vos votre vous ça aussi
alors après avant avoir avait avaient ainsi bien car déjà doit faire fait font lequel
laquelle lesquels plusieurs autre autres aujourd hui non oui va vont
""",
    "es": """
a al algo alguien algunos algunas ante antes aquel aquella aquí así aunque bajo cada como
cómo con contra cual cuál cuales cuando cuándo de del desde donde dónde durante e el él ella
ellas ellos en entre era eran es esa esas ese eso esos esta está están estaba estar estas
este esto estos fue fueron ha había han hasta hay he hemos hoy la las le les lo los más me
menos mi mientras mis mismo misma muy nada nadie ni no nos nosotros nuestra nuestro o os
otra otras otro otros para pero poco por porque puede pueden que qué quien quién quienes se
sea según ser será serán si sí sido siendo sin sino sobre su sus también tampoco tan tanto
te tiene tienen todo toda todos todas tras tu tus un una uno unos unas usted ustedes y ya yo
además ahora después luego allí ayer
""",
    "pt": """
a à ao aos aquela aquele aquilo as às até após com como contra da das de dela dele delas
deles depois desde do dos e é ela elas ele eles em entre era eram essa essas esse esses
esta está estão estava estar estas este estes eu foi foram há havia isso isto já lhe lhes
mais mas me mesma mesmo meu minha muito muitos muita muitas na nas não nem no nos nós nossa
nosso num numa o onde os ou outra outras outro outros para pela pelas pelo pelos pode podem
pois por porque porém quais qual quando que quem se sem ser será serão seu seus sido sim
sob sobre sua suas também tem têm ter tinha toda todas todo todos um uma umas uns você
vocês ainda cada segundo hoje ontem
""",
    "it": """
a ad agli ai al all alla alle allo anche ancora che chi ci come con cui da dagli dai dal
dall dalla dalle dallo degli dei del dell della delle dello di dopo dove e è ed era erano
essere fra gli già ha hanno i il in io la le lei lo loro lui ma mi molto ne negli nei nel
nell nella nelle nello noi non o oggi ogni per perché più poi prima può qual quale quando
quella quelle quelli quello questa queste questi questo se si sì sia siamo sono sta stata
stati stato su sua sue sugli sui sul sull sulla sulle suo suoi tra tutta tutte tutti tutto
un una uno voi
""",
    "nl": """
aan al alle alles als ben bij daar dan dat de deze die dit door dus een eens en er geen
geweest had hadden haar heb hebben heeft hem het hier hij hoe hun iets ik in is je jij kan
kon kunnen maar meer met mij mijn na naar niet niets nog nu of om omdat ons onder ook op
over te tegen toch toen tot tussen u uit uw van veel voor want waar waren was wat we wel
werd werden wie wij wordt worden zal ze zei zelf zich zij zijn zo zonder zou zullen
""",
    "sk": """
a aby aj ak ako ale alebo ani asi až bez bol bola boli bolo bude budú by byť cez čo do ho i
iba ich ja je jeho jej ju k kde keď kto ktorá ktoré ktorého ktorej ktorí ktorú ktorý ktorým
ku len lebo ma má majú mal mala mali malo medzi mi môže môžu my na nad nám nás ne nie nič o
od on ona oni ono po pod podľa potom pre pred pri s sa si sme so som ste sú ta tak takže tam
ten tento tá táto to toho tom tomu toto tu tí tie tieto tiež tým u už v vo však vy z za zo
že ešte teraz viac
""",
    "cs": """
a aby ale ani ano asi až bez bude budou by byl byla byli bylo byly být co což do ho i jak
jako je jeho jej jejich její jen ještě již jsem jsi jsme jsou jste k kde kdy když ke která
které kterého který kteří kterou kterým má mají mezi mi mít může mohou my na nad nám nás ne
není než nic o od on ona oni ono ony po pod podle pokud pro proti protože před při s se si
sice tak také takže tam ten tento tato tím to toho tom tomu toto tu ty tyto u už v ve však
vy z za ze že či
""",
    "pl": """
a aby ale bardzo bo by był była było były być co czy dla do gdy gdzie go i ich im jak jako
jednak jego jej jest jeszcze już kiedy która które których który lub ma mają może na nad nie
nich o od oraz po pod przed przez przy się są sobie ta tak także tam te tego tej ten też to
tu tylko tym w we więc z za ze że został została zostały
""",
    "sv": """
alla att av blev bli blir de dem den denna deras dess dessa det detta dig din dina du där då
efter ej eller en er ett från för ha hade han hans har henne hennes honom hon hur här i icke
ingen inom inte jag ju kan kunde man med mellan men mig min mina mitt mot mycket ni nu när
någon något några och om oss på samma sedan sig sin sina sitt själv skulle som så till under
upp ut utan vad var vara varför vi vid vilka vilken vilket är åt än över också
""",
    "da": """
ad af alle alt anden at blev blive bliver da de dem den denne der deres det dette dig din
disse dog du efter eller en end er et for fra ham han hans har havde have hende hendes her
hos hun hvad hvis hvor i ikke ind jeg jer jo kunne man mange med meget men mig min mine mit
mod ned noget nogle nu når og også om op os over på selv sig sin sine sit skal skulle som
sådan thi til ud under var vi vil ville vor være været
""",
    "no": """
alle at av bare ble bli blir blitt da de deg dem den denne der deres det dette din disse
ditt du eller en enn er et etter for fordi fra før han hans har hadde hun hva hvem hvis
hvor hvordan i ikke ingen inn ja jeg kan kom kun kunne man med meg mellom men mot mye må
ned noe noen nå når og også om opp oss over på samme seg selv sin sine sitt skal skulle
slik som så til uten ut var vi vil ville være vært å
""",
    "tr": """
acaba ama ancak bazı belki ben bile bir biri birkaç birçok biz bu buna bunda bundan bunu
bunun çok çünkü da daha de değil diye dolayı en gibi göre hem hep her hiç için ile ise
kadar ki kim mı mi mu mü nasıl ne neden olan olarak oldu olduğu olur sen siz şey şu tüm ve
veya ya yani var yok sonra önce
""",
    "ru": """
а без более больше был была были было быть в вам вас весь во вот все всего всех всё вы где
да даже для до его ее её ей ему если есть еще ещё же за здесь и из или им их к как какой
когда кто ли либо мне может мы на над надо нас не него нее неё нет ни них но ну о об однако
он она они оно от очень по под после при про с со так также такой там те тем то того тоже
только том тот ту ты у уже хотя чего чем что чтобы эта эти это этого этой этом этот я
который которая которые которого году года будет будто бы вдруг ведь впрочем всегда всю
два другой ж зачем иногда какая конечно куда лучше между меня много можно мой моя наконец
ней нельзя нибудь никогда ним ничего один опять перед потом потому почти раз разве сам
свою себе себя совсем тебя теперь тогда три уж хорошо хоть чтоб чуть эту
""",
    "uk": """
а або але б без би був була були було бути в вам вас весь від вже все всі вони ви де для до
є його її їх з за зі і із й к коли котрий куди ли лише ми мені на над навіть не ні ну о од
він вона воно по під після при про саме так також там те теж ти то того тому тут у хоча це
цей ці ця через чи що щоб як який яка яке які якщо
""",
    "ur": """
اب اپنا اپنی اپنے اس اسے اگر ان انہوں انہیں اور او اور اُن اِس ایسا ایسی ایسے ایک بات بعد
بھی بہت پر پہلے تا تاکہ تب تک تو تھا تھی تھیں تھے جا جائے جاتا جاتی جاتے جب جس جن جو
جیسا جیسے چاہیے دی دیا دیے رہا رہی رہے سب سکتا سکتی سکتے سے طرح علاوہ غیر کا کب کر کرتا
کرتی کرتے کرنا کرنے کرکے کو کون کوئی کچھ کہ کہا کی کیا کیسے کیونکہ کے گا گئی گئے گی گیا
لئے لیے لیکن مگر میں نہ نہیں نے والا والی والے وہ وہی ہم ہو ہوئی ہوئے ہوا ہوتا ہوتی ہوتے
ہونے ہوں ہی ہیں ہے یا یہ یہی
""",
    "ar": """
أن إن ان أو إلى الى إلا التي الذي الذين اللذين بعد بين تلك ثم حتى حيث خلال ذلك عن عند على
عليه عليها غير فقط في فيه فيها قبل قد قال كان كانت كل كما لا لم لن له لها لهم لكن ما مع
من منذ منه منها هذا هذه هناك هو هي هم و وفي ومن وقد وقال أي أيضا إذا نحو ضد به بها ليس
يكون تكون
""",
    "fa": """
آن آنها از اگر اما او اين این با باید برای بر به بود بودند بین پس پیش تا چه چون خود
خواهد دارد داشت در دیگر را روی زیر شد شده شود که کرد کرده کند می نیز نیست و وی هر هم
همه همین های ها یا یک
""",
    "hi": """
और का की के को कि कर करने किया कुछ गया गई गए जा जो जब तक तो था थी थे दिया ने नहीं पर
फिर बाद भी में यह यहाँ या रहा रही रहे लिए वह वे सभी साथ से ही है हैं हो होता होती होने
इस उस इन उन एक अपने अपनी आप हम मैं क्या कौन कैसे
""",
}

# Words that name no topic in English news, beyond the function words (filler, dates).
ENGLISH_FILLER = frozenset(
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

# News filler of other languages: what "said", "year", "today" are in English.
FILLER = {
    "de": "heute gestern morgen uhr jahr jahre jahren prozent neue neuen neues erste ersten "
    "gibt geht laut rund sagte sagt mal ganz lassen lässt sagen kommen kommt bekommen "
    "stehen steht bleiben bleibt zeigen zeigt",
    "fr": "aujourd hui hier demain an ans année années selon nouveau nouvelle nouveaux dit "
    "premier première",
    "es": "año años hoy ayer mañana dijo según nuevo nueva nuevos primer primera",
    "pt": "ano anos hoje ontem amanhã diz disse leia veja nova novo novos primeiro primeira feira",
    "it": "anno anni ieri domani detto nuovo nuova primo prima",
    "nl": "jaar jaren vandaag gisteren morgen nieuwe eerste zegt",
    "sk": "rok roka roku rokov dnes včera zajtra nový nová nové prvý prvá povedal uviedol",
    "cs": "rok roku let dnes včera zítra nový nová nové první řekl uvedl",
    "ur": "سال آج کل روز نئی نیا نئے پہلی پہلا کہنا",
    "ar": "عام اليوم أمس جديد جديدة الأول",
}

# What is left of an English contraction split at its apostrophe ("doesn't", "we'll"):
# never a label.
CONTRACTED = frozenset(
    """doesn didn isn wasn couldn wouldn shouldn aren weren hasn haven hadn mustn needn ll
    ve re""".split()
)

# Function words of other languages that are English words with a meaning of their own:
# kept out of the language-blind list, so "war", "car" and "pod" stay topics in English.
_ENGLISH_HOMOGRAPHS = frozenset(
    """
ad al ale allen alt ani art bare ben bez bile bin car co com con dan dem den dig die dog
door dos dove ed end era eu fast font gift ham hans hat hay hem hep hoe hun jak jest jo kim
las los lub ma mali man med men met mine mod mot ned non ons op os par plus pod poi pro sat
sea selv sen sig sin sine sit son sue sun ten tie tom ton tot van var vi want war ya yo
""".split()
)

_LETTERS = re.compile(r"[^\W\d_]+")

# Other tags of a language that has a list under one code.
_ALIASES = {"nb": "no", "nn": "no", "iw": "he", "in": "id", "ji": "yi"}


def language_code(tag: str) -> str:
    """The ISO 639-1 code our lists use for a tag or name ("pt-BR", "nb", "german")."""
    code = iso_code(tag)
    return _ALIASES.get(code, code)


@lru_cache(maxsize=64)
def function_words(tag: str) -> frozenset[str]:
    """Closed-class words of a language (lower case): ours, else sumy's list, else none."""
    code = language_code(tag)
    if not code:
        return frozenset()
    if code == "en":
        return frozenset(ENGLISH.split())
    if code in FUNCTION_WORDS:
        return frozenset(FUNCTION_WORDS[code].split())
    return _sumy_list(code)


@lru_cache(maxsize=64)
def stop_words(tag: str) -> frozenset[str]:
    """Words that never name a section of stories in this language: its function words,
    its news filler, its month and weekday names (English also scikit-learn's list)."""
    code = language_code(tag)
    words = set(function_words(code)) | set(FILLER.get(code, "").split())
    if code == "en":
        words |= scikit_learn_english() | ENGLISH_FILLER | CONTRACTED
    words |= calendar_words(code)
    return frozenset(words)


def known_languages() -> tuple[str, ...]:
    """The languages with a function-word list of ours (the detector tells these apart)."""
    return ("en", *FUNCTION_WORDS)


@lru_cache(maxsize=64)
def calendar_words(code: str) -> frozenset[str]:
    """Month and weekday names and abbreviations of a language, word by word, from CLDR."""
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return frozenset()
    names: list[str] = []
    for table in (locale.months, locale.days):
        for context in table.values():  # abbreviations ("Sun", "Mar") are too often words
            names.extend(str(n) for n in context.get("wide", {}).values())
    return frozenset(w for n in names for w in re.findall(r"\w+", n.lower()) if len(w) > 1)


@lru_cache(maxsize=1)
def language_blind() -> frozenset[str]:
    """Stop words for text whose language is not known: English's, and every other
    language's function words that are not also English words."""
    foreign = {w for code in FUNCTION_WORDS for w in FUNCTION_WORDS[code].split()}
    words = stop_words("en") | (foreign - _ENGLISH_HOMOGRAPHS)
    # only whole tokens of the topic tokenizer (letters; no "let's", no Devanagari marks)
    return frozenset(w for w in words if _LETTERS.fullmatch(w))


@lru_cache(maxsize=1)
def scikit_learn_english() -> frozenset[str]:
    """scikit-learn's English stop words, read from its data file without importing
    scikit-learn (most of a second: a build that fits no topic model needs none of it)."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder, "feature_extraction", "_stop_words.py")
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["ENGLISH_STOP_WORDS"]
                and isinstance(node.value, ast.Call)
                and node.value.args
            ):
                return frozenset(ast.literal_eval(node.value.args[0]))
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # laid out otherwise

    return frozenset(ENGLISH_STOP_WORDS)


@lru_cache(maxsize=32)
def _sumy_list(code: str) -> frozenset[str]:
    from sumy.utils import get_stop_words

    from newsletter.text import language_name

    try:
        return frozenset(w.lower() for w in get_stop_words(language_name(code)))
    except LookupError:
        return frozenset()
