#!/usr/bin/env python3
"""gen_data.py — deterministic training and held-out evaluation conversations for the default
model.

Everything comes from a seed, from lists in this file and from WordNet 3.0 (Debian's
wordnet-base, /usr/share/wordnet). Output (in --out):
  train.jsonl   one conversation per line: {"messages": [...], "tools": [...] | null}
                train.py learns every assistant turn whose rendered text is what the model
                generates at that point (see train.py).
  eval.json     100 held-out prompts: {"id", "category", "messages", "tools", "expect"}
  words.json    the words whose definitions were taught (and their glosses)
  stats.json    counts per category, and the checks below

Held-out policy (so that eval measures something the model did not memorise):
  * the eval set is drawn first, from its own random stream (split seed), so it does not
    change when the training mixture or size changes;
  * arithmetic + and -: operand pairs used in eval never appear in training, in any phrasing;
  * multiplication (0..12 table): the pairs are the trained table (a table is memorised, not
    derived) but the phrasings are unseen;
  * cities: eval cities never appear in training (weather, time, tool results), nor do they
    come out of the made-up name generator;
  * calculator expressions, tool-result values: fresh numbers;
  * definitions: taught words, asked with phrasings never used in training; "unknown word"
    prompts use words never seen in training;
  * small talk and don't-know: phrasings / topics never used in training.
  * phrasings: training phrasings are built combinatorially (openers x cores x closers, many
    dozens per intent) so the model routes on content words ("umbrella", "clock", "take ...
    away from", "explain", "work out") rather than on a few fixed sentences; a training
    phrasing whose normalised form (lower case, letters, digits and placeholders only) equals
    an eval template is dropped, and stats.json lists any eval prompt that still appears as a
    training user turn (it must be empty).

What is taught, and in which form:
  * arithmetic (+, - on 0..50, x on the 0..12 table) answers with the number, after a short
    worked step in a <think> block — the ones digits with their carry or borrow, then the
    tens — so a small transformer computes each digit from single-digit facts instead of
    guessing a two-digit sum in one token. Qwen3's template renders that block for the turn
    being generated and drops it from earlier turns (eval.py scores the text after it);
  * every other answer is plain text, no <think> block;
  * tool calls copy the argument: most city names in training are made up (syllables)
    or rare WordNet proper nouns, and
    most "unknown words" too, so copying is the only way to get them right.
"""
import argparse
import json
import os
import random
import re

WORDNET = "/usr/share/wordnet"

# ---------------------------------------------------------------------------------------------
# Lists

CITIES = [
    "Paris", "London", "Berlin", "Madrid", "Rome", "Vienna", "Prague", "Warsaw", "Lisbon",
    "Dublin", "Oslo", "Stockholm", "Helsinki", "Copenhagen", "Amsterdam", "Brussels", "Zurich",
    "Geneva", "Munich", "Hamburg", "Milan", "Naples", "Barcelona", "Athens", "Istanbul",
    "Moscow", "Kyiv", "Budapest", "Bucharest", "Sofia", "Belgrade", "Zagreb", "Cairo", "Lagos",
    "Nairobi", "Accra", "Casablanca", "Tunis", "Johannesburg", "Cape Town", "Dubai", "Doha",
    "Tehran", "Karachi", "Mumbai", "Delhi", "Bangalore", "Chennai", "Kolkata", "Dhaka",
    "Bangkok", "Hanoi", "Singapore", "Jakarta", "Manila", "Seoul", "Tokyo", "Osaka", "Beijing",
    "Shanghai", "Hong Kong", "Taipei", "Sydney", "Melbourne", "Perth", "Auckland", "Wellington",
    "New York", "Boston", "Chicago", "Denver", "Seattle", "San Francisco", "Los Angeles",
    "Miami", "Houston", "Dallas", "Atlanta", "Toronto", "Montreal", "Vancouver",
    "Mexico City", "Bogota", "Lima", "Santiago", "Buenos Aires", "Sao Paulo", "Rio de Janeiro",
    "Havana", "Anchorage", "Honolulu", "Reykjavik", "Edinburgh", "Glasgow", "Manchester",
    "Lyon", "Marseille", "Porto", "Seville", "Krakow", "Riga", "Vilnius", "Tallinn",
]
EVAL_CITIES = [
    "Kathmandu", "Ottawa", "Nice", "Florence", "Bordeaux", "Minsk", "Valencia", "Adelaide",
    "Phoenix", "Portland", "Kyoto", "Hobart", "Quito", "Dakar",
]

CONDITIONS = ["sunny", "cloudy", "rainy", "snowy", "windy", "foggy", "clear", "stormy"]

TOOL_DEFS = {
    "get_weather": {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
            },
        },
    },
    "get_time": {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Get the current local time in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
            },
        },
    },
    "calculator": {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression",
            "parameters": {
                "type": "object",
                "properties": {
                    "expression": {"type": "string", "description": "e.g. 12 * 7"}
                },
                "required": ["expression"],
            },
        },
    },
}

SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a friendly assistant.",
    "You are a small, helpful assistant. Answer briefly.",
]

IDENTITY = ("I am the default model of edgellm, a small assistant. I can chat, do simple "
            "arithmetic, define English words and call tools.")
DONT_KNOW = ("I'm sorry, I don't know that. I am a small model: I can chat, do simple "
             "arithmetic, define English words and call tools.")

# ---------------------------------------------------------------------------------------------
# Phrasings. Eval templates are fixed (they are what the held-out set asks); training phrasings
# are cores combined with openers and closers (see expand()), checked against the eval ones.

OPENERS = ["", "Please ", "Hey, ", "Quick question: ", "Hi! ", "OK, ", "Now ", "Can you help? ",
           "Hello. ", "One more: "]
CLOSERS = ["", " Thanks.", " Please.", " Thank you!", " Thanks a lot."]


def norm(t):
    """Normalised form of a phrasing: lower case, only letters, digits and placeholders."""
    return " ".join(re.findall(r"\{[a-z]\}|[a-z0-9]+", t.lower().replace("'", "")))


def expand(cores, evals, plain_only=False):
    """Every core, and every core with an opener / closer (and a lower-case variant without
    end punctuation), minus anything whose normalised form is an eval template's."""
    bad = {norm(e) for e in evals}
    out = []
    for c in cores:
        forms = [c]
        if not plain_only:
            for o in OPENERS[1:]:
                lc = c[0].lower() + c[1:] if o[-2:] not in (". ", "! ", "? ", ": ") else c
                forms.append(o + lc)
            for cl in CLOSERS[1:]:
                forms.append(c + cl)
            forms.append(c.lower().rstrip(".?!"))
        for f in forms:
            if norm(f) not in bad and f not in out:
                out.append(f)
    return out


ADD_EVAL = ["Please compute {a} plus {b}.", "Tell me {a} + {b}.", "If I add {a} to {b}, what do I get?"]
SUB_EVAL = ["Please compute {a} minus {b}.", "Tell me {a} - {b}.", "Take {b} away from {a}."]
MUL_EVAL = ["Please compute {a} times {b}.", "Tell me {a} * {b}.", "What do you get when you multiply {a} and {b}?"]
DEF_EVAL = ["Give me the definition of {w}.", "Explain the word {w}.",
            "I'd like to know what {w} means.", "Tell me what \"{w}\" means."]
WEATHER_EVAL = ["Could you look up the weather in {c}?", "What's it like outside in {c} today?",
                "Do I need an umbrella in {c}?"]
TIME_EVAL = ["Do you know what time it is over in {c}?", "Look up the clock in {c} for me.",
             "Is it late in {c} now?"]
CALC_EVAL = ["Run {e} through the calculator, please.", "Could you work out {e} for me?",
             "I need the result of {e}."]

ADD_CORES = [
    "What is {a} + {b}?", "What's {a} plus {b}?", "what is {a}+{b}?", "{a} + {b}", "{a} + {b} = ?",
    "{a}+{b}", "{a} plus {b}", "{a} plus {b}?", "How much is {a} plus {b}?", "How much is {a} + {b}?",
    "Add {a} and {b}.", "Add {a} to {b}.", "Add {a} and {b} together.", "Add up {a} and {b}.",
    "What is the sum of {a} and {b}?", "Sum of {a} and {b}?", "Compute {a} + {b}.",
    "Calculate {a} plus {b}.", "Calculate {a} + {b}.", "Work out {a} + {b}.",
    "Can you work out {a} plus {b}?", "Tell me what {a} plus {b} is.", "Tell me the sum of {a} and {b}.",
    "Tell me {a} plus {b}.", "What do I get if I add {a} and {b}?",
    "What do you get if you add {a} to {b}?", "If you add {a} and {b}, what is the result?",
    "What is {a} added to {b}?", "What does {a} plus {b} make?", "Solve {a} + {b}.",
    "What's the total of {a} and {b}?", "I add {a} to {b}. What is the result?",
    "Compute the sum of {a} and {b}.", "What number is {a} plus {b}?",
    "Could you add {a} and {b} for me?", "What is {a} and {b} added together?",
]
SUB_CORES = [
    "What is {a} - {b}?", "What's {a} minus {b}?", "{a} - {b}", "{a}-{b}", "{a} minus {b}",
    "{a} minus {b}?", "{a} - {b} = ?", "Subtract {b} from {a}.", "Take away {b} from {a}.",
    "Take {b} from {a}.", "What is {a} take away {b}?", "How much is {a} minus {b}?",
    "What is the difference between {a} and {b}?", "Compute {a} - {b}.", "Calculate {a} minus {b}.",
    "Calculate {a} - {b}.", "Work out {a} - {b}.", "Can you work out {a} minus {b}?",
    "Tell me {a} minus {b}.", "Tell me what {a} minus {b} is.",
    "If you take {b} away from {a}, what is left?", "What is left if I take {b} away from {a}?",
    "{a} take away {b}?", "What do I get if I subtract {b} from {a}?",
    "How much is left when {b} is taken from {a}?", "Remove {b} from {a}.", "What is {a} less {b}?",
    "Solve {a} - {b}.", "What does {a} minus {b} make?", "I take {b} away from {a}. What is left?",
    "Could you subtract {b} from {a} for me?", "What number is {a} minus {b}?",
]
MUL_CORES = [
    "What is {a} * {b}?", "What is {a} x {b}?", "What's {a} times {b}?", "{a} * {b}", "{a}*{b}",
    "{a} x {b}", "{a} times {b}", "{a} * {b} = ?", "Multiply {a} by {b}.", "Multiply {a} and {b}.",
    "What is the product of {a} and {b}?", "Compute {a} * {b}.", "Calculate {a} times {b}.",
    "Calculate {a} * {b}.", "Work out {a} times {b}.", "Tell me {a} times {b}.",
    "What do I get if I multiply {a} by {b}?", "If you multiply {a} and {b}, what is the result?",
    "How much is {a} times {b}?", "What is {a} multiplied by {b}?", "Solve {a} * {b}.",
    "What does {a} times {b} make?", "Could you multiply {a} by {b} for me?",
    "What number is {a} times {b}?", "Tell me what {a} times {b} is.",
]
DEF_CORES = [
    "What does {w} mean?", "What does the word {w} mean?", "What does \"{w}\" mean?", "Define {w}.",
    "Define the word {w}.", "define {w}", "What is the meaning of {w}?", "Meaning of {w}?",
    "Meaning of the word \"{w}\"", "Definition of {w}?", "What is the definition of {w}?",
    "Give me the meaning of {w}.", "Give me a definition for the word {w}.", "Explain {w}.",
    "Explain what {w} means.", "Explain the meaning of {w}.", "Can you explain the word \"{w}\"?",
    "Please explain the term {w}.", "Tell me the meaning of {w}.", "Tell me what the word {w} means.",
    "I want to know what {w} means.", "I would like to know the meaning of {w}.",
    "Do you know what {w} means?", "What is meant by {w}?", "{w}: what does it mean?",
    "What do people mean by {w}?", "Could you define {w} for me?", "I don't understand the word {w}.",
    "What's the definition of \"{w}\"?", "Explain to me what \"{w}\" is.", "What is a definition of {w}?",
    "The word {w}: what is it?", "I need the meaning of {w}.", "What is {w}? Define it.",
]
WEATHER_CORES = [
    "What's the weather in {c}?", "What is the weather like in {c}?", "How is the weather in {c} today?",
    "Weather in {c}?", "weather {c}", "Is it raining in {c}?", "Is it sunny in {c}?",
    "Is it cold in {c} right now?", "Is it hot in {c} today?", "Will I need an umbrella in {c}?",
    "Should I take an umbrella in {c}?", "Should I bring a coat in {c} today?",
    "How warm is it outside in {c}?", "What's the temperature in {c}?", "How hot is it in {c}?",
    "Check the weather in {c}.", "Look up the weather for {c}.", "Can you look up the forecast for {c}?",
    "Tell me the weather for {c}.", "What is it like outside in {c}?", "Is it nice outside in {c}?",
    "Get me the weather in {c}.", "What are the conditions in {c} today?", "Is it snowing in {c}?",
    "How's the weather over in {c}?", "Do you know the weather in {c}?", "Is it windy in {c}?",
    "Can I go outside without an umbrella in {c}?", "What is the forecast for {c}?",
    "Umbrella or sunglasses in {c} today?", "How cold is it in {c}?",
]
TIME_CORES = [
    "What time is it in {c}?", "What's the time in {c}?", "Current time in {c}?", "Tell me the time in {c}.",
    "time in {c}", "What is the local time in {c}?", "Can you check the time in {c}?",
    "What does the clock say in {c}?", "Check the clock in {c}.", "Is it morning in {c}?",
    "Is it night in {c} now?", "Is it early in {c}?", "How late is it in {c}?",
    "Is it late over there in {c}?", "What hour is it in {c}?", "Look up the time in {c}.",
    "Do you know the time in {c}?", "Get the current time for {c}.",
    "What time do they have in {c} right now?", "What time is it over in {c}?",
    "Is it still day in {c}?", "Clock time in {c}?", "Is it evening in {c} yet?",
    "What's the hour in {c} right now?", "Could you check what time it is in {c}?",
]
CALC_CORES = [
    "Use the calculator to compute {e}.", "Calculate {e} with the calculator.", "What is {e}?",
    "Compute {e}.", "Calculate {e}.", "{e} = ?", "{e}", "Use the calculator: {e}", "Work out {e}.",
    "Can you work out {e}?", "Put {e} into the calculator.", "Run the calculator on {e}.",
    "What is the result of {e}?", "I need to know {e}.", "Tell me {e}.", "How much is {e}?",
    "Evaluate {e}.", "Solve {e}.", "What does {e} give?", "Use the calculator for {e}, please.",
]

ADD_TRAIN = expand(ADD_CORES, ADD_EVAL)
SUB_TRAIN = expand(SUB_CORES, SUB_EVAL)
MUL_TRAIN = expand(MUL_CORES, MUL_EVAL)
DEF_TRAIN = expand(DEF_CORES, DEF_EVAL)
WEATHER_TRAIN = expand(WEATHER_CORES, WEATHER_EVAL)
TIME_TRAIN = expand(TIME_CORES, TIME_EVAL)
CALC_TRAIN = expand(CALC_CORES, CALC_EVAL)

# (train phrasings, eval phrasings, train answers, scoring keywords: any of them must appear)
SMALLTALK = [
    (["Hi", "Hi!", "Hello", "Hello!", "Hey", "Hey there!", "hello", "hi there", "Good morning!",
      "Good afternoon", "Greetings!", "Hi, assistant.", "Hello, friend!", "Hey, friend.",
      "Morning!", "Good day!", "Evening, assistant.", "Good evening to you.", "Yo!", "Hi friend!",
      "Hello there.", "Hiya.", "Howdy, assistant!", "Hey hey!", "Hello again!"],
     ["Hiya!", "Good evening!", "Hello there, friend.", "Howdy!"],
     ["Hello! How can I help you today?", "Hi! How can I help you?"],
     ["hello", "hi!", "hi,"]),
    (["How are you?", "How are you doing?", "how are you", "How are you today?",
      "Are you doing well?", "How do you feel?", "How is it going today?", "How are things?",
      "How have things been?", "How are you feeling?", "How's your day going?",
      "How's everything?", "How do you do?", "You doing okay?", "All good with you?"],
     ["How's it going?", "How have you been?"],
     ["I'm doing well, thank you! How can I help you?", "I'm fine, thanks! How can I help?"],
     ["well", "good", "fine"]),
    (["What is your name?", "What's your name?", "Who are you?", "who are you", "What are you?",
      "Introduce yourself.", "Tell me about yourself.", "What do I call you?", "Do you have a name?",
      "Tell me who you are.", "Who am I talking to?", "Who is this?", "Your name, please?"],
     ["What should I call you?", "Can you tell me who you are?"],
     [IDENTITY],
     ["edgellm", "assistant", "model"]),
    (["What can you do?", "How can you help me?", "What are you able to do?", "Help",
      "What are you good at?", "What do you know how to do?", "What can you help me with?",
      "Which things can you do?", "What skills do you have?", "List what you can do.",
      "What kinds of questions can you answer?", "What are your abilities?"],
     ["What are your skills?", "What kind of things can you help with?"],
     ["I can chat, do simple arithmetic like 12 + 7, define English words, and call tools "
      "such as get_weather, get_time and calculator when they are provided."],
     ["arithmetic", "define", "tools"]),
    (["Thank you", "Thanks!", "thanks", "Thank you very much.", "Thanks a lot!", "Great, thanks.",
      "Thanks so much for the help.", "Cheers!", "Many thanks.", "Thank you so much.",
      "Cheers, mate.", "Thanks, that helps.", "I appreciate it.", "Thank you, assistant!"],
     ["Thanks so much!", "Cheers, thank you!"],
     ["You're welcome!", "You're welcome! Happy to help."],
     ["welcome"]),
    (["Bye", "Goodbye!", "Bye bye", "See you!", "Good night!", "I have to go now.", "See you soon!",
      "Later!", "Catch you later.", "Take care!", "Farewell, assistant.", "I'm leaving now.",
      "Bye for now.", "So long!", "Have a good day!"],
     ["See you later!", "Farewell!"],
     ["Goodbye! Have a nice day.", "Bye! Have a great day."],
     ["bye", "day"]),
    (["Who made you?", "Who created you?", "Who trained you?", "Where do you come from?",
      "Who built this model?", "Who made this assistant?", "Who developed you?",
      "Who programmed you?", "Which project made you?", "Who is your creator?"],
     ["Who built you?"],
     ["I was trained by the edgellm project, from scratch, on a small set of conversations."],
     ["edgellm", "trained"]),
    (["Are you a robot?", "Are you human?", "Are you a person?", "Are you an AI?",
      "Are you a real person?", "Am I talking to a machine?", "Is this a human?",
      "Are you a computer program?", "Are you real?", "Is there a person behind you?",
      "Am I chatting with a bot?"],
     ["Am I talking to a real person?"],
     ["I am not a person. I am a small language model."],
     ["language model", "not a person"]),
    (["How old are you?", "When were you born?", "Tell me your age.", "How old is this model?",
      "When were you made?", "Are you old?", "What age are you?", "Do you have a birthday?"],
     ["What is your age?"],
     ["I am a language model, so I have no age. I was trained recently."],
     ["no age", "language model"]),
    (["Nice to meet you.", "Nice to meet you!", "Pleased to meet you.", "Good to meet you.",
      "Nice meeting you!", "Glad to know you.", "Happy to meet you!", "Lovely to meet you."],
     ["Glad to meet you!"],
     ["Nice to meet you too! How can I help you?"],
     ["meet you"]),
    (["Can you help me?", "I need help.", "Can you help me with something?", "Could you help me?",
      "Can you give me some help?", "I need a hand.", "Would you help me with something?",
      "Please help me.", "Can I ask you for help?", "Help me out, please."],
     ["Could you give me a hand?"],
     ["Of course! What do you need?", "Sure, I can try. What do you need?"],
     ["sure", "of course", "what do you need"]),
    (["Yes", "No", "OK", "Okay", "Cool", "Great!", "Alright then.", "Sure.", "Fine.", "Got it.",
      "I see.", "Right.", "Sounds good.", "Nice.", "Good."],
     ["Alright."],
     ["OK. Is there anything else I can help you with?"],
     ["anything else", "help"]),
]

# Topics the model must decline. Train and eval use disjoint lists.
DK_TRAIN_Q = [
    "What is the capital of {country}?", "Who is the president of {country}?",
    "What is the population of {country}?", "What language do they speak in {country}?",
    "Who won the {year} World Cup?", "What happened in {year}?", "Who wrote {book}?",
    "Tell me a story about {thing}.", "Write a poem about {thing}.", "Translate {thing} into French.",
    "What is the price of {thing}?", "How do I cook {food}?", "What is the recipe for {food}?",
    "How far is the Moon?", "What is the speed of light?", "Why is the sky blue?",
    "How does a car engine work?", "What is quantum physics?", "Who painted the Mona Lisa?",
    "What is the meaning of life?", "What is the best programming language?",
    "Can you recommend a movie?", "What is the tallest mountain?", "How many people live on Earth?",
    "What is the stock price of {company}?", "Who founded {company}?",
    "What will happen tomorrow?", "Tell me the news.", "What is the latest news about {country}?",
    "Explain how {thing} works.", "Explain the history of {country}.", "Explain gravity to me.",
    "Explain why the sea is salty.", "Tell me about the history of {country}.",
    "Which city is the largest in {country}?", "Who discovered penicillin?",
    "Describe the plot of {book}.", "Sing a song about {food}.", "How many stars are there?",
    "What is the biggest animal?", "Who was the first person on the Moon?",
    "What is the currency of {country}?", "How tall is {company}'s headquarters?",
]
DK_EVAL_Q = [
    "Which river flows through {country}?", "Who invented the telephone?",
    "What is the boiling point of gold?", "Summarize the plot of {book}.",
    "What is the GDP of {country}?", "How many moons does Jupiter have?",
    "Who is the richest person in the world?", "Compose a song about {thing}.",
    "What is the chemical formula of caffeine?", "Which team won the {year} Olympics?",
    "Explain the theory of relativity.", "What did {company} announce yesterday?",
]
COUNTRIES = ["France", "Germany", "Japan", "Brazil", "Canada", "Kenya", "India", "Spain", "Chile",
             "Norway", "Egypt", "Peru", "Italy", "Vietnam", "Poland", "Ghana", "Mexico", "Sweden"]
EVAL_COUNTRIES = ["Portugal", "Nepal", "Bolivia", "Iceland", "Mongolia"]
THINGS = ["the sea", "a cat", "winter", "my dog", "the stars", "love", "a red car", "friendship",
          "a house", "the forest", "coffee", "a train"]
EVAL_THINGS = ["autumn leaves", "a lighthouse", "old shoes"]
FOODS = ["pasta", "rice", "pancakes", "soup", "bread", "curry", "a cake"]
BOOKS = ["Hamlet", "War and Peace", "Don Quixote", "The Odyssey", "Moby Dick"]
EVAL_BOOKS = ["Pride and Prejudice", "The Trial"]
COMPANIES = ["Apple", "Google", "Toyota", "Nokia", "Siemens", "Samsung"]
EVAL_COMPANIES = ["Volvo", "Philips"]
# ---------------------------------------------------------------------------------------------
# WordNet

POS_NAME = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}
SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "s"}


def load_wordnet():
    """Return {(lemma, pos): (count_of_sense_1, gloss_of_sense_1)} for single-word lemmas."""
    counts = {}
    with open(os.path.join(WORDNET, "cntlist.rev")) as f:
        for line in f:
            key, sense, cnt = line.split()
            lemma, rest = key.split("%", 1)
            pos = SS_TYPE[rest[0]]
            if pos == "s":
                pos = "a"
            if sense == "1":
                counts[(lemma, pos)] = counts.get((lemma, pos), 0) + int(cnt)
    out = {}
    for pos, fname in (("n", "noun"), ("v", "verb"), ("a", "adj")):
        offsets = {}
        with open(os.path.join(WORDNET, "index." + fname)) as f:
            for line in f:
                if line.startswith(" "):
                    continue
                p = line.split()
                lemma, nsyn, pcnt = p[0], int(p[2]), int(p[3])
                offs = p[6 + pcnt:6 + pcnt + nsyn]
                if offs and (lemma, pos) in counts:
                    offsets[lemma] = int(offs[0])
        with open(os.path.join(WORDNET, "data." + fname), "rb") as f:
            for lemma, off in offsets.items():
                f.seek(off)
                line = f.readline().decode("utf-8", "replace")
                gloss = line.split("|", 1)[1].strip()
                gloss = gloss.split(";")[0].strip()
                out[(lemma, pos)] = (counts[(lemma, pos)], gloss)
    return out


def load_proper_names(exclude):
    """Capitalised single-word proper nouns from WordNet's noun synsets (places, people, taxa:
    ~12,700), minus `exclude`. Used as unseen-looking place names in tool requests so that the
    names the model learns to copy are spelled like real ones (and the BPE vocabulary splits
    real names into pieces it has seen copied), not only the syllable generator's shapes."""
    names = set()
    with open(os.path.join(WORDNET, "data.noun"), encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(" "):
                continue
            p = line.split()
            for i in range(int(p[3], 16)):
                w = re.sub(r"\(.*\)$", "", p[4 + 2 * i])
                if w.isalpha() and w[0].isupper() and w[1:].islower() and 4 <= len(w) <= 12:
                    names.add(w)
    return sorted(names - set(exclude))


def pick_words(wn, n_known, n_unknown_train, n_unknown_eval, rng):
    """Frequent, short, clean words with short glosses are taught; rarer ones are 'unknown'."""
    cand = []
    for (lemma, pos), (cnt, gloss) in wn.items():
        if not lemma.isalpha() or not lemma.islower() or not (3 <= len(lemma) <= 11):
            continue
        if not (12 <= len(gloss) <= 80) or '"' in gloss or "(" in gloss or "`" in gloss:
            continue
        if lemma in gloss.split():
            continue
        cand.append((cnt, lemma, pos, gloss))
    cand.sort(key=lambda t: (-t[0], t[1], t[2]))
    known, seen = [], set()
    for cnt, lemma, pos, gloss in cand:
        if lemma in seen or lemma in ("be", "have", "make", "get", "go", "say", "use", "take"):
            continue
        seen.add(lemma)
        known.append({"word": lemma, "pos": POS_NAME[pos], "gloss": gloss})
        if len(known) == n_known:
            break
    # Unknown words: real but rare words (tag count 1..2), never taught.
    rare = sorted({lemma for (lemma, pos), (cnt, g) in wn.items()
                   if lemma.isalpha() and lemma.islower() and 5 <= len(lemma) <= 10
                   and cnt <= 2 and lemma not in seen})
    rng.shuffle(rare)
    return known, rare[:n_unknown_train], rare[n_unknown_train:n_unknown_train + n_unknown_eval]


def definition_answer(w):
    return '"%s" (%s): %s.' % (w["word"], w["pos"], w["gloss"])


def unknown_answer(word):
    return 'I\'m sorry, I don\'t know the word "%s".' % word


# ---------------------------------------------------------------------------------------------
# Arithmetic in a form a small transformer can compute


def arith_answer(a, b, op):
    """(reasoning, answer) for a op b: the ones digits with carry / borrow, then the tens; the
    answer is the number alone (what eval.py scores: the first integer after the think block)."""
    if op == "*":
        return "%d * %d = %d." % (a, b, a * b), str(a * b)
    a1, a10, b1, b10 = a % 10, a // 10, b % 10, b // 10
    if op == "+":
        s1 = a1 + b1
        c = s1 // 10
        s10 = a10 + b10 + c
        r = "%d + %d: %d + %d = %d, carry %d. %d + %d + %d = %d." % (a, b, a1, b1, s1, c, a10, b10,
                                                                     c, s10)
        assert s10 * 10 + s1 % 10 == a + b
        return r, str(a + b)
    c = 1 if a1 < b1 else 0
    d1 = a1 + 10 * c - b1
    d10 = a10 - b10 - c
    r = "%d - %d: %d - %d = %d, borrow %d. %d - %d - %d = %d." % (a, b, a1 + 10 * c, b1, d1, c,
                                                                  a10, b10, c, d10)
    assert d10 * 10 + d1 == a - b and d10 >= 0
    return r, str(a - b)


# ---------------------------------------------------------------------------------------------
# Generators


class Gen:
    def __init__(self, seed, n_words, split_seed=None, arith=None, synth=0.7, real_names=0.5):
        """split_seed fixes what is held out (words, operand pairs) and the eval set; seed
        drives the training data."""
        split_seed = seed if split_seed is None else split_seed
        self.rng = random.Random(split_seed)
        wn = load_wordnet()
        self.words, self.unk_train, self.unk_eval = pick_words(wn, n_words, 300, 5, self.rng)
        if arith is not None:
            rest = sum(f for k, f in self.PLAIN_MIX if k != "arith")
            self.PLAIN_MIX = [(k, arith if k == "arith" else f * (1 - arith) / rest)
                              for k, f in self.PLAIN_MIX]
        self.synth = synth
        self.real_names = real_names
        self.proper_names = load_proper_names(EVAL_CITIES)
        self.known_set = {w["word"] for w in self.words} | set(self.unk_eval)
        self.eval_set_names = set(EVAL_CITIES)
        # Held-out + and - operand pairs (0..50): ~6% of the pairs, never trained on.
        self.heldout = set()
        r2 = random.Random(split_seed + 1)
        for a in range(51):
            for b in range(51):
                if r2.random() < 0.06:
                    self.heldout.add((a, b))
        # The eval set first, from its own stream: it does not depend on the training mixture.
        self.rng = random.Random(split_seed + 2)
        self.eval_items = self.eval_set()
        self.rng = random.Random(seed)

    def user(self, text):
        return {"role": "user", "content": text}

    def asst(self, text, reasoning=None):
        m = {"role": "assistant", "content": text}
        if reasoning is not None:
            m["reasoning_content"] = reasoning
        return m

    def maybe_system(self, msgs):
        if self.rng.random() < 0.2:
            return [{"role": "system", "content": self.rng.choice(SYSTEM_PROMPTS)}] + msgs
        return msgs

    # -- single exchanges
    def operands(self, op, eval_):
        r = self.rng
        if op == "*":
            return r.randint(0, 12), r.randint(0, 12)
        x = r.random()
        if eval_ or x < 0.6:
            a, b = r.randint(0, 50), r.randint(0, 50)
        elif x < 0.8:  # single-digit facts (the ones step of every two-digit problem)
            a, b = r.randint(0, 9), r.randint(0, 9)
        else:
            a, b = r.randint(0, 50), r.randint(0, 9)
            if r.random() < 0.5:
                a, b = b, a
        if op == "-" and a < b:
            a, b = b, a
        return a, b

    def arith(self, phr=None, heldout=False, op=None):
        """(question, answer, reasoning, value)."""
        r = self.rng
        op = op or r.choice("+-*")
        while True:
            a, b = self.operands(op, heldout)
            if op == "*" or ((a, b) in self.heldout) == heldout:
                break
        if phr is None:
            phr = r.choice({"+": ADD_TRAIN, "-": SUB_TRAIN, "*": MUL_TRAIN}[op])
        reasoning, ans = arith_answer(a, b, op)
        return phr.format(a=a, b=b), ans, reasoning, int(ans)

    def smalltalk(self, idx=None, eval_=False):
        r = self.rng
        item = SMALLTALK[r.randrange(len(SMALLTALK)) if idx is None else idx]
        q = r.choice(item[1] if eval_ else item[0])
        return q, r.choice(item[2]), item[3]

    def definition(self, phr=None, w=None):
        r = self.rng
        w = w or r.choice(self.words)
        phr = phr or r.choice(DEF_TRAIN)
        return phr.format(w=w["word"]), definition_answer(w), w

    ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
              "z", "br", "ch", "dr", "gr", "kh", "kr", "pl", "pr", "sh", "st", "th", "tr", "qu",
              "", ""]
    VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ou", "ea", "ia", "y", "ei"]
    CODAS = ["", "", "", "", "n", "r", "l", "s", "m", "k", "nd", "rt", "st", "x", "ck"]

    def pseudo_word(self):
        r = self.rng
        while True:
            w = "".join(r.choice(self.ONSETS) + r.choice(self.VOWELS) + r.choice(self.CODAS)
                        for _ in range(r.choice([1, 2, 2, 3, 3, 4])))
            if (3 <= len(w) <= 14 and w not in self.known_set
                    and w.capitalize() not in self.eval_set_names):
                return w

    def unknown_word(self, pool, phr=None):
        word = self.rng.choice(pool)
        if pool is self.unk_train and self.rng.random() < 0.5:
            word = self.pseudo_word()
        phr = phr or self.rng.choice(DEF_TRAIN)
        return phr.format(w=word), unknown_answer(word)

    def dont_know(self, qs=DK_TRAIN_Q, countries=COUNTRIES, things=THINGS, books=BOOKS,
                  companies=COMPANIES):
        r = self.rng
        q = r.choice(qs).format(country=r.choice(countries), year=r.choice(range(1950, 2024)),
                                thing=r.choice(things), food=r.choice(FOODS),
                                book=r.choice(books), company=r.choice(companies))
        return q, DONT_KNOW

    def no_tool_answer(self, kind):
        return {
            "get_weather": "I can't check the weather: I have no weather tool in this conversation.",
            "get_time": "I can't check the time: I have no clock tool in this conversation.",
        }[kind]

    def calc_expr(self, small=False):
        r = self.rng
        op = r.choice(["+", "-", "*", "/"])
        if small:  # a small-number question when a calculator is offered: it is used too
            op = r.choice(["+", "-", "*"])
            a, b = self.operands(op, False)
        else:
            a = r.randint(10, 999)
            b = r.randint(2, 99) if op in "*/" else r.randint(10, 999)
            if op == "/":
                a = b * r.randint(2, 40)
        e = "%d %s %d" % (a, op, b)
        val = a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a // b
        return e, val

    def toolset(self, need):
        names = list(TOOL_DEFS)
        r = self.rng
        chosen = [n for n in names if n == need or r.random() < 0.6]
        r.shuffle(chosen)
        return [TOOL_DEFS[n] for n in chosen]

    def place_name(self):
        """An unseen-looking place name: a WordNet proper noun (real spelling) or a made-up
        one from syllables; 1 word, sometimes 2."""
        r = self.rng
        n = 1 if r.random() < 0.85 else 2
        if r.random() < self.real_names:
            return " ".join(r.choice(self.proper_names) for _ in range(n))
        return " ".join(self.pseudo_word().capitalize() for _ in range(n))

    def city(self, eval_=False):
        if eval_:
            return self.rng.choice(EVAL_CITIES)
        if self.rng.random() < self.synth:
            return self.place_name()
        return self.rng.choice(CITIES)

    def tool_request(self, kind, eval_=False, small=False):
        r = self.rng
        if kind == "calculator":
            e, val = self.calc_expr(small)
            if small:
                phr = r.choice({"+": ADD_TRAIN, "-": SUB_TRAIN, "*": MUL_TRAIN}[e.split()[1]])
                a, _, b = e.split()
                return phr.format(a=a, b=b), {"expression": e}, val
            q = r.choice(CALC_EVAL if eval_ else CALC_TRAIN).format(e=e)
            return q, {"expression": e}, val
        city = self.city(eval_)
        pool = {"get_weather": (WEATHER_EVAL, WEATHER_TRAIN), "get_time": (TIME_EVAL, TIME_TRAIN)}
        q = r.choice(pool[kind][0] if eval_ else pool[kind][1]).format(c=city)
        return q, {"city": city}, None

    def tool_result(self, kind, args, val):
        r = self.rng
        if kind == "get_weather":
            t, cond = r.randint(-15, 38), r.choice(CONDITIONS)
            res = {"city": args["city"], "temperature_c": t, "condition": cond}
            ans = "It is %s in %s, %d degrees Celsius." % (cond, args["city"], t)
            return json.dumps(res), ans, [str(t), cond]
        if kind == "get_time":
            hh, mm = r.randint(0, 23), r.randint(0, 59)
            tm = "%02d:%02d" % (hh, mm)
            res = {"city": args["city"], "time": tm}
            return json.dumps(res), "It is %s in %s." % (tm, args["city"]), [tm]
        res = {"result": val}
        return json.dumps(res), "%s = %d." % (args["expression"], val), [str(val)]

    # -- exchanges: lists of messages ending with an assistant message
    def ex_plain(self, kind):
        if kind == "arith":
            q, a, why, _ = self.arith()
            return [self.user(q), self.asst(a, why)]
        if kind == "def":
            q, a, _ = self.definition()
        elif kind == "unkword":
            q, a = self.unknown_word(self.unk_train)
        elif kind == "talk":
            q, a, _ = self.smalltalk()
        elif kind == "dk":
            q, a = self.dont_know()
        else:  # "notool": a weather/time question and no tool to answer it
            k = self.rng.choice(["get_weather", "get_time"])
            q, _, _ = self.tool_request(k)
            a = self.no_tool_answer(k)
        return [self.user(q), self.asst(a)]

    def ex_tool(self, kind, with_result, small=False):
        q, args, val = self.tool_request(kind, small=small)
        call = {"type": "function", "function": {"name": kind, "arguments": args}}
        msgs = [self.user(q), {"role": "assistant", "content": "", "tool_calls": [call]}]
        if with_result:
            content, ans, _ = self.tool_result(kind, args, val)
            msgs += [{"role": "tool", "content": content}, self.asst(ans)]
        return msgs

    PLAIN_MIX = [("arith", 0.30), ("def", 0.36), ("unkword", 0.07), ("talk", 0.13),
                 ("dk", 0.09), ("notool", 0.05)]

    def pick_plain(self):
        x, acc = self.rng.random(), 0.0
        for k, f in self.PLAIN_MIX:
            acc += f
            if x < acc:
                return k
        return "arith"

    def conv_plain(self):
        """1..5 exchanges without tools (mostly one: the eval's shape)."""
        n = self.rng.choice([1, 1, 1, 1, 2, 2, 3, 4, 5])
        msgs = []
        for _ in range(n):
            msgs += self.ex_plain(self.pick_plain())
        return {"messages": self.maybe_system(msgs), "tools": None}

    def conv_tools(self):
        """Tools offered; 1..4 exchanges: tool call + result + answer, plain questions, and
        possibly a final tool call left unanswered (what inference sees most). Arithmetic goes
        to the calculator when it is offered."""
        r = self.rng
        need = r.choice(list(TOOL_DEFS))
        tools = self.toolset(need)
        have = [t["function"]["name"] for t in tools]
        n = r.choice([1, 1, 2, 2, 3, 4])
        msgs = []
        for i in range(n):
            x = r.random()
            last = i == n - 1
            if x < 0.6:
                msgs += self.ex_tool(r.choice(have), with_result=(not last or r.random() < 0.45))
            elif x < 0.68:
                miss = [k for k in ("get_weather", "get_time") if k not in have]
                if miss:
                    k = r.choice(miss)
                    q, _, _ = self.tool_request(k)
                    msgs += [self.user(q), self.asst(self.no_tool_answer(k))]
                else:
                    msgs += self.ex_plain("talk")
            else:
                kind = r.choice(["arith", "arith", "def", "talk", "dk"])
                if kind == "arith" and "calculator" in have:
                    msgs += self.ex_tool("calculator", with_result=(not last or r.random() < 0.45),
                                         small=True)
                else:
                    msgs += self.ex_plain(kind)
        return {"messages": self.maybe_system(msgs), "tools": tools}

    # -- eval
    def eval_set(self):
        r = self.rng
        items = []

        def add(cat, msgs, tools, expect):
            items.append({"id": len(items), "category": cat, "messages": msgs, "tools": tools,
                          "expect": expect})

        seen = set()
        for op, phrs, n in (("+", ADD_EVAL, 9), ("-", SUB_EVAL, 8), ("*", MUL_EVAL, 8)):
            i = 0
            while i < n:
                q, a, _, val = self.arith(phr=phrs[i % len(phrs)], heldout=(op != "*"), op=op)
                if q in seen:
                    continue
                seen.add(q)
                add("arithmetic", [self.user(q)], None, {"number": val})
                i += 1
        ws = r.sample(self.words, 23)
        for i, w in enumerate(ws):
            q, a, _ = self.definition(phr=DEF_EVAL[i % len(DEF_EVAL)], w=w)
            add("definition", [self.user(q)], None, {"word": w["word"], "gloss": w["gloss"]})
        for i, word in enumerate(self.unk_eval[:3]):
            q = DEF_EVAL[i % len(DEF_EVAL)].format(w=word)
            add("dont_know", [self.user(q)], None, {"dont_know": True})
        for kind, n in (("get_weather", 7), ("get_time", 6), ("calculator", 6)):
            for i in range(n):
                q, args, _ = self.tool_request(kind, eval_=True)
                add("tool_call", [self.user(q)], self.toolset(kind),
                    {"name": kind, "arguments": args})
        for i, kind in enumerate(["get_weather", "get_time", "calculator", "get_weather",
                                  "get_time", "calculator"]):
            q, args, val = self.tool_request(kind, eval_=True)
            call = {"type": "function", "function": {"name": kind, "arguments": args}}
            content, ans, keys = self.tool_result(kind, args, val)
            msgs = [self.user(q), {"role": "assistant", "content": "", "tool_calls": [call]},
                    {"role": "tool", "content": content}]
            add("tool_answer", msgs, self.toolset(kind), {"contains": keys})
        for idx in range(len(SMALLTALK)):
            q, _, keys = self.smalltalk(idx=idx, eval_=True)
            add("smalltalk", [self.user(q)], None, {"any": keys})
        for q in DK_EVAL_Q:
            q = q.format(country=r.choice(EVAL_COUNTRIES), year=r.choice(range(1950, 2024)),
                         thing=r.choice(EVAL_THINGS), book=r.choice(EVAL_BOOKS),
                         company=r.choice(EVAL_COMPANIES))
            add("dont_know", [self.user(q)], None, {"dont_know": True})
        return items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=30000, help="training conversations")
    ap.add_argument("--words", type=int, default=200, help="words whose definition is taught")
    ap.add_argument("--split-seed", type=int, default=None,
                    help="seed of the held-out split and eval set (default: --seed)")
    ap.add_argument("--arith", type=float, default=None,
                    help="share of arithmetic among plain exchanges (default 0.30)")
    ap.add_argument("--synthetic", type=float, default=0.7,
                    help="share of made-up city names in tool requests (teaches copying)")
    ap.add_argument("--real-names", type=float, default=0.5,
                    help="of those, the share taken from WordNet's proper nouns (real spellings)")
    ap.add_argument("--tools-share", type=float, default=0.35,
                    help="share of conversations that offer tools")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    g = Gen(args.seed, args.words, args.split_seed, args.arith, args.synthetic, args.real_names)

    n_tools = int(round(args.tools_share * args.n))
    counts = {"plain": args.n - n_tools, "tools": n_tools}
    convs = [g.conv_plain() for _ in range(counts["plain"])]
    convs += [g.conv_tools() for _ in range(counts["tools"])]
    # Every taught word a few more times, alone (single-turn, the eval's shape).
    for w in g.words:
        for _ in range(3):
            q, a, _ = g.definition(w=w)
            convs.append({"messages": [g.user(q), g.asst(a)], "tools": None})
    counts["def_cover"] = 3 * len(g.words)
    g.rng.shuffle(convs)
    ev = g.eval_items
    assert len(ev) == 100, len(ev)

    # No eval prompt may appear verbatim as a training user turn, and no eval city anywhere.
    train_users, cities_seen = set(), False
    for c in convs:
        for m in c["messages"]:
            if m["role"] == "user":
                train_users.add(m["content"])
    overlap = [e["messages"][0]["content"] for e in ev if e["messages"][0]["content"] in train_users]
    with open(os.path.join(args.out, "train.jsonl"), "w") as f:
        for c in convs:
            line = json.dumps(c, ensure_ascii=False)
            cities_seen = cities_seen or any(re.search(r"\b%s\b" % x, line) for x in EVAL_CITIES
                                             if x != "Nice")
            f.write(line + "\n")
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(ev, f, indent=1, ensure_ascii=False)
    with open(os.path.join(args.out, "words.json"), "w") as f:
        json.dump({"known": g.words, "unknown_train": g.unk_train, "unknown_eval": g.unk_eval},
                  f, indent=1)
    cats = {}
    for e in ev:
        cats[e["category"]] = cats.get(e["category"], 0) + 1
    nturn = sum(1 for c in convs for m in c["messages"] if m["role"] == "assistant")
    phr = {k: len(v) for k, v in (("add", ADD_TRAIN), ("sub", SUB_TRAIN), ("mul", MUL_TRAIN),
                                  ("def", DEF_TRAIN), ("weather", WEATHER_TRAIN),
                                  ("time", TIME_TRAIN), ("calc", CALC_TRAIN))}
    stats = {"seed": args.seed, "split_seed": args.split_seed or args.seed,
             "train_conversations": len(convs), "mixture": counts, "assistant_turns": nturn,
             "training_phrasings": phr, "synthetic_city_share": args.synthetic,
             "wordnet_name_share": args.real_names,
             "words_taught": len(g.words), "heldout_pairs": len(g.heldout),
             "eval": cats, "eval_prompts_seen_in_training": overlap,
             "eval_city_in_training": cities_seen}
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats))
    if overlap or cities_seen:
        raise SystemExit("gen_data: held-out policy violated (see stats.json)")


if __name__ == "__main__":
    main()
