"""The audience: who gets the mail and how they say so.

`subscribers` validates addresses and moves CSV in and out, `signup` holds the rules of
double opt-in, leaving and coming back, `tokens` signs the links that act for one person.
"""
