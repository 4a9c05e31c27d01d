#!/usr/bin/env python3
"""gen_data.py — deterministic training and held-out evaluation conversations for the default
model.

Everything comes from a seed, from lists in this file and from WordNet 3.0 (Debian's
wordnet-base, /usr/share/wordnet). Output (in --out):
  train.jsonl   one conversation per line: {"messages": [...], "tools": [...] | null}
                The model is trained on the LAST assistant message of each conversation.
  eval.json     100 held-out prompts: {"id", "category", "messages", "tools", "expect"}
  words.json    the words whose definitions were taught (and their glosses)
  stats.json    counts per category

Held-out policy (so that eval measures something the model did not memorise):
  * arithmetic + and -: operand pairs used in eval never appear in training, in any phrasing;
  * multiplication (0..12 table): the pairs are the trained table (a table is memorised, not
    derived) but the phrasings are unseen;
  * cities: eval cities never appear in training (weather, time, tool results);
  * calculator expressions, tool-result values: fresh numbers;
  * definitions: taught words, asked with phrasings never used in training; "unknown word"
    prompts use words never seen in training;
  * small talk and don't-know: phrasings / topics never used in training.
A second training phase (run.sh) calls this again with another --seed but the first phase's
--split-seed, so the held-out split stays the same; --synthetic then mixes in made-up place
names and made-up "unknown" words, which the model can only get right by copying them from the
question (a fixed list of 100 cities is learned as a lookup table instead).
"""
import argparse
import json
import os
import random

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

# (train phrasings, eval phrasings, train answers, scoring keywords: any of them must appear)
SMALLTALK = [
    (["Hi", "Hi!", "Hello", "Hello!", "Hey", "Hey there!", "hello", "hi there", "Good morning!",
      "Good afternoon", "Greetings!", "Hi, assistant."],
     ["Hiya!", "Good evening!", "Hello there, friend.", "Howdy!"],
     ["Hello! How can I help you today?", "Hi! How can I help you?"],
     ["hello", "hi!", "hi,"]),
    (["How are you?", "How are you doing?", "how are you", "How are you today?",
      "Are you doing well?", "How do you feel?"],
     ["How's it going?", "How have you been?"],
     ["I'm doing well, thank you! How can I help you?"],
     ["well", "good", "fine"]),
    (["What is your name?", "What's your name?", "Who are you?", "who are you", "What are you?",
      "Introduce yourself.", "Tell me about yourself."],
     ["What should I call you?", "Can you tell me who you are?"],
     [IDENTITY],
     ["edgellm", "assistant", "model"]),
    (["What can you do?", "How can you help me?", "What are you able to do?", "Help"],
     ["What are your skills?", "What kind of things can you help with?"],
     ["I can chat, do simple arithmetic like 12 + 7, define English words, and call tools "
      "such as get_weather, get_time and calculator when they are provided."],
     ["arithmetic", "define", "tools"]),
    (["Thank you", "Thanks!", "thanks", "Thank you very much.", "Thanks a lot!", "Great, thanks."],
     ["Thanks so much!", "Cheers, thank you!"],
     ["You're welcome!", "You're welcome! Happy to help."],
     ["welcome"]),
    (["Bye", "Goodbye!", "Bye bye", "See you!", "Good night!", "I have to go now."],
     ["See you later!", "Farewell!"],
     ["Goodbye! Have a nice day.", "Bye! Have a great day."],
     ["bye", "day"]),
    (["Who made you?", "Who created you?", "Who trained you?", "Where do you come from?"],
     ["Who built you?"],
     ["I was trained by the edgellm project, from scratch, on a small set of conversations."],
     ["edgellm", "trained"]),
    (["Are you a robot?", "Are you human?", "Are you a person?", "Are you an AI?"],
     ["Am I talking to a real person?"],
     ["I am not a person. I am a small language model."],
     ["language model", "not a person"]),
    (["How old are you?", "When were you born?"],
     ["What is your age?"],
     ["I am a language model, so I have no age. I was trained recently."],
     ["no age", "language model"]),
    (["Nice to meet you.", "Nice to meet you!", "Pleased to meet you."],
     ["Glad to meet you!"],
     ["Nice to meet you too! How can I help you?"],
     ["meet you"]),
    (["Can you help me?", "I need help.", "Can you help me with something?"],
     ["Could you give me a hand?"],
     ["Of course! What do you need?", "Sure, I can try. What do you need?"],
     ["sure", "of course", "what do you need"]),
    (["Yes", "No", "OK", "Okay", "Cool", "Great!"],
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

# Arithmetic phrasings.
ADD_TRAIN = ["What is {a} + {b}?", "What's {a} plus {b}?", "Calculate {a} + {b}.", "{a} + {b} = ?",
             "How much is {a} plus {b}?", "Add {a} and {b}.", "What is the sum of {a} and {b}?",
             "{a}+{b}", "what is {a}+{b}?", "{a} plus {b}"]
ADD_EVAL = ["Please compute {a} plus {b}.", "Tell me {a} + {b}.", "If I add {a} to {b}, what do I get?"]
SUB_TRAIN = ["What is {a} - {b}?", "What's {a} minus {b}?", "Calculate {a} - {b}.", "{a} - {b} = ?",
             "Subtract {b} from {a}.", "How much is {a} minus {b}?", "{a}-{b}", "{a} minus {b}",
             "What is the difference between {a} and {b}?"]
SUB_EVAL = ["Please compute {a} minus {b}.", "Tell me {a} - {b}.", "Take {b} away from {a}."]
MUL_TRAIN = ["What is {a} * {b}?", "What is {a} x {b}?", "What's {a} times {b}?",
             "Calculate {a} * {b}.", "Multiply {a} by {b}.", "{a} * {b} = ?", "{a}*{b}",
             "How much is {a} times {b}?", "What is the product of {a} and {b}?", "{a} times {b}"]
MUL_EVAL = ["Please compute {a} times {b}.", "Tell me {a} * {b}.", "What do you get when you multiply {a} and {b}?"]

DEF_TRAIN = ["What does {w} mean?", "Define {w}.", "What is the meaning of {w}?", "define {w}",
             "What does the word \"{w}\" mean?", "Definition of {w}?", "Can you define {w}?",
             "What is the definition of the word {w}?", "{w}: what does it mean?", "Meaning of {w}"]
DEF_EVAL = ["Give me the definition of {w}.", "Explain the word {w}.",
            "I'd like to know what {w} means.", "Tell me what \"{w}\" means."]

WEATHER_TRAIN = ["What's the weather in {c}?", "What is the weather like in {c}?",
                 "How is the weather in {c} today?", "Weather in {c}?", "Is it raining in {c}?",
                 "Tell me the weather for {c}.", "weather {c}", "Is it cold in {c} right now?",
                 "Check the weather in {c}, please."]
WEATHER_EVAL = ["Could you look up the weather in {c}?", "What's it like outside in {c} today?",
                "Do I need an umbrella in {c}?"]
TIME_TRAIN = ["What time is it in {c}?", "What's the time in {c}?", "Current time in {c}?",
              "Tell me the time in {c}.", "time in {c}", "What is the local time in {c}?",
              "Can you check the time in {c}?"]
TIME_EVAL = ["Do you know what time it is over in {c}?", "Look up the clock in {c} for me.",
             "Is it late in {c} now?"]
CALC_TRAIN = ["Use the calculator to compute {e}.", "Calculate {e} with the calculator.",
              "What is {e}?", "Compute {e}.", "Please calculate {e}.", "{e} = ?",
              "Use the calculator: {e}"]
CALC_EVAL = ["Run {e} through the calculator, please.", "Could you work out {e} for me?",
             "I need the result of {e}."]


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
# Generators


class Gen:
    def __init__(self, seed, n_words, split_seed=None, arith=None, synth=0.0):
        """split_seed fixes what is held out (operand pairs, unknown-word split); a second
        training phase generates fresh data with another seed but the first phase's split."""
        split_seed = seed if split_seed is None else split_seed
        self.rng = random.Random(split_seed)
        wn = load_wordnet()
        self.words, self.unk_train, self.unk_eval = pick_words(wn, n_words, 300, 5, self.rng)
        if split_seed != seed:
            self.rng = random.Random(seed)
        if arith is not None:
            rest = sum(f for k, f in self.PLAIN_MIX if k != "arith")
            self.PLAIN_MIX = [(k, arith if k == "arith" else f * (1 - arith) / rest)
                              for k, f in self.PLAIN_MIX]
        self.synth = synth
        self.known_set = {w["word"] for w in self.words} | set(self.unk_eval)
        self.eval_set_names = set(EVAL_CITIES)
        # Held-out + and - operand pairs (0..50): ~6% of the pairs, never trained on.
        self.heldout = set()
        r2 = random.Random(split_seed + 1)
        for a in range(51):
            for b in range(51):
                if r2.random() < 0.06:
                    self.heldout.add((a, b))

    def user(self, text):
        return {"role": "user", "content": text}

    def asst(self, text):
        return {"role": "assistant", "content": text}

    def maybe_system(self, msgs):
        if self.rng.random() < 0.2:
            return [{"role": "system", "content": self.rng.choice(SYSTEM_PROMPTS)}] + msgs
        return msgs

    # -- single exchanges (user text, answer)
    def arith(self, phr=None, heldout=False, op=None):
        r = self.rng
        op = op or r.choice("+-*")
        while True:
            if op == "*":
                a, b = r.randint(0, 12), r.randint(0, 12)
                break
            a, b = r.randint(0, 50), r.randint(0, 50)
            if op == "-" and a < b:
                a, b = b, a
            if ((a, b) in self.heldout) == heldout:
                break
        if phr is None:
            phr = r.choice({"+": ADD_TRAIN, "-": SUB_TRAIN, "*": MUL_TRAIN}[op])
        val = a + b if op == "+" else a - b if op == "-" else a * b
        return phr.format(a=a, b=b), str(val), val

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

    SYL = ["ka", "lo", "mi", "ran", "te", "bu", "sor", "vel", "an", "dor", "pi", "qua", "zen",
           "ho", "lis", "mar", "ne", "tov", "gra", "su", "bel", "ko", "nia", "fer", "wa", "ly"]

    def pseudo_word(self):
        r = self.rng
        while True:
            w = "".join(r.choice(self.SYL) for _ in range(r.randint(2, 4)))
            if w not in self.known_set and w.capitalize() not in self.eval_set_names:
                return w

    def pseudo_name(self):
        """A made-up place name (1-2 words): teaches copying the argument, not a city list."""
        n = 1 if self.rng.random() < 0.8 else 2
        return " ".join(self.pseudo_word().capitalize() for _ in range(n))

    def unknown_word(self, pool, phr=None):
        word = self.rng.choice(pool)
        if pool is self.unk_train and self.synth and self.rng.random() < self.synth:
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

    def calc_expr(self):
        r = self.rng
        op = r.choice(["+", "-", "*", "/"])
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

    def tool_request(self, kind, eval_=False):
        r = self.rng
        if kind == "calculator":
            e, val = self.calc_expr()
            q = r.choice(CALC_EVAL if eval_ else CALC_TRAIN).format(e=e)
            return q, {"expression": e}, val
        if eval_:
            city = r.choice(EVAL_CITIES)
        elif self.synth and r.random() < self.synth:
            city = self.pseudo_name()
        else:
            city = r.choice(CITIES)
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

    # -- whole conversations
    # -- exchanges: lists of messages ending with an assistant message
    def ex_plain(self, kind):
        if kind == "arith":
            q, a, _ = self.arith()
        elif kind == "def":
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

    def ex_tool(self, kind, with_result):
        q, args, val = self.tool_request(kind)
        call = {"type": "function", "function": {"name": kind, "arguments": args}}
        msgs = [self.user(q), {"role": "assistant", "content": "", "tool_calls": [call]}]
        if with_result:
            content, ans, _ = self.tool_result(kind, args, val)
            msgs += [{"role": "tool", "content": content}, self.asst(ans)]
        return msgs

    PLAIN_MIX = [("arith", 0.32), ("def", 0.36), ("unkword", 0.05), ("talk", 0.13),
                 ("dk", 0.10), ("notool", 0.04)]

    def pick_plain(self):
        x, acc = self.rng.random(), 0.0
        for k, f in self.PLAIN_MIX:
            acc += f
            if x < acc:
                return k
        return "arith"

    def conv_plain(self):
        """1..8 exchanges without tools; every assistant turn is trained."""
        n = self.rng.choice([1, 1, 2, 3, 4, 5, 6, 7, 8])
        msgs = []
        for _ in range(n):
            msgs += self.ex_plain(self.pick_plain())
        return {"messages": self.maybe_system(msgs), "tools": None}

    def conv_tools(self):
        """Tools offered; 1..6 exchanges: tool call + result + answer, plain questions, and
        possibly a final tool call left unanswered (what inference sees most)."""
        r = self.rng
        need = r.choice(list(TOOL_DEFS))
        tools = self.toolset(need)
        have = [t["function"]["name"] for t in tools]
        n = r.choice([1, 2, 3, 4, 5, 6, 6])
        msgs = []
        for i in range(n):
            x = r.random()
            if x < 0.55:
                msgs += self.ex_tool(r.choice(have), with_result=(i < n - 1 or r.random() < 0.5))
            elif x < 0.62:
                miss = [k for k in ("get_weather", "get_time") if k not in have]
                if miss:
                    k = r.choice(miss)
                    q, _, _ = self.tool_request(k)
                    msgs += [self.user(q), self.asst(self.no_tool_answer(k))]
                else:
                    msgs += self.ex_plain(r.choice(["arith", "talk"]))
            else:
                msgs += self.ex_plain(r.choice(["arith", "arith", "def", "talk", "dk"]))
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
                q, a, val = self.arith(phr=phrs[i % len(phrs)], heldout=(op != "*"), op=op)
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
    ap.add_argument("--n", type=int, default=60000, help="training conversations")
    ap.add_argument("--words", type=int, default=200, help="words whose definition is taught")
    ap.add_argument("--split-seed", type=int, default=None,
                    help="seed of the held-out split (default: --seed)")
    ap.add_argument("--arith", type=float, default=None,
                    help="share of arithmetic among plain exchanges (default 0.32)")
    ap.add_argument("--synthetic", type=float, default=0.0,
                    help="share of made-up city names and unknown words (teaches copying)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    g = Gen(args.seed, args.words, args.split_seed, args.arith, args.synthetic)

    # Conversations: plain (no tools) and tool-using ones. Every assistant turn is trained.
    counts = {"plain": int(round(0.7 * args.n)), "tools": args.n - int(round(0.7 * args.n))}
    convs = [g.conv_plain() for _ in range(counts["plain"])]
    convs += [g.conv_tools() for _ in range(counts["tools"])]
    # Every taught word a few more times, alone (single-turn, the eval's shape).
    for w in g.words:
        for _ in range(3):
            q, a, _ = g.definition(w=w)
            convs.append({"messages": [g.user(q), g.asst(a)], "tools": None})
    counts["def_cover"] = 3 * len(g.words)
    g.rng.shuffle(convs)
    ev = g.eval_set()
    assert len(ev) == 100, len(ev)

    # Make sure no eval prompt text appears verbatim as a training user turn.
    train_users = set()
    for c in convs:
        for m in c["messages"]:
            if m["role"] == "user":
                train_users.add(m["content"])
    overlap = [e["messages"][0]["content"] for e in ev if e["messages"][0]["content"] in train_users]
    with open(os.path.join(args.out, "train.jsonl"), "w") as f:
        for c in convs:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(ev, f, indent=1, ensure_ascii=False)
    with open(os.path.join(args.out, "words.json"), "w") as f:
        json.dump({"known": g.words, "unknown_train": g.unk_train, "unknown_eval": g.unk_eval},
                  f, indent=1)
    cats = {}
    for e in ev:
        cats[e["category"]] = cats.get(e["category"], 0) + 1
    nturn = sum(1 for c in convs for m in c["messages"] if m["role"] == "assistant")
    stats = {"seed": args.seed, "train_conversations": len(convs), "mixture": counts,
             "assistant_turns": nturn,
             "words_taught": len(g.words), "heldout_pairs": len(g.heldout),
             "eval": cats, "eval_prompts_seen_in_training": overlap}
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
