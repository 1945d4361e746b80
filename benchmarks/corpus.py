"""A seeded synthetic news corpus: realistic titles and summaries from vocabulary templates.

``generate(n, seed)`` gives the same ``n`` items for the same seed. Items spread over three years,
a dozen sections each with its own words, places, people and organisations (some introduced with
an acronym, "Regional Transport Board (RTB)"), so the index sees a vocabulary, term frequencies
and dates shaped like a news archive. ``queries(items, n, seed)`` draws questions of the kinds
users ask: title words, typos, paraphrase-like partial questions, dates and negatives.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from bot.knowledge.models import NewsItem


def _word_list(text: str) -> list[str]:
    return text.split()


_PLACES = _word_list(
    """
Eastmere Northgate Riverside Southbank Westfield Hillcrest Oakridge Millbrook Ashford Kingsport
Fairhaven Stonebridge Larkfield Harrowgate Brookvale Elmstead Marlow Redcliff Thornbury Wexley
Bayside Clearwater Dunmore Glenwood Highfield Ironbridge Lakeside Moorland Newhaven Pinecrest
Queensbury Rosedale Silverton Tidewater Upminster Valemont Whitby Yarrow Zenith Cobalt
"""
)

_PEOPLE = """
Ana Kovacs|Grace Adeyemi|Tomas Lindqvist|Priya Raman|Jonas Weber|Maria Santos|Ahmed Khalil|
Li Wei|Fatima Diallo|Oliver Grant|Sofia Rossi|Kwame Mensah|Hannah Cohen|Diego Alvarez|
Mei Tanaka|Ibrahim Musa|Elena Petrova|Samuel Okoro|Laura Nilsen|Rahul Mehta
""".replace("\n", "").split("|")


@dataclass(frozen=True, slots=True)
class _Section:
    name: str
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]
    adjectives: tuple[str, ...]
    bodies: tuple[str, ...]
    organisation: tuple[str, str]


def _section(
    name: str, nouns: str, verbs: str, adjectives: str, organisation: tuple[str, str], *bodies: str
) -> _Section:
    return _Section(
        name,
        tuple(nouns.split(",")),
        tuple(verbs.split(",")),
        tuple(adjectives.split(",")),
        bodies,
        organisation,
    )


_SECTIONS = (
    _section(
        "transport",
        "tram line,bus route,railway station,cycle lane,bridge,ring road,ferry service,car park,"
        "night bus,rail fares,airport link,harbour tunnel",
        "opens,closes for repairs,is extended,gets new timetable,faces delays,is upgraded",
        "electric,overnight,new,busy,delayed,faster,cheaper",
        ("Regional Transport Board", "RTB"),
        "The {org_long} ({org}) said the {noun} in {place} will {verb2} from {month}.",
        "Commuters in {place} complained about {adj} services on the {noun}.",
        "Engineers will work on the {noun} for {number} weeks, and buses will be diverted.",
    ),
    _section(
        "council",
        "council tax,budget,housing plan,planning permission,library,town hall,local election,"
        "street lighting,parking charges,recycling scheme,community centre,park",
        "approved,rejected,delayed,debated,cut,raised,expanded",
        "affordable,controversial,annual,revised,ambitious,local",
        ("City Finance Committee", "CFC"),
        "Councillors in {place} {verb} the {adj} {noun} after a long debate.",
        "Mayor {person} said the {noun} would cost {number} million pounds.",
        "The {org_long} ({org}) will review the {noun} again in {month}.",
    ),
    _section(
        "health",
        "hospital ward,vaccination campaign,mental health service,ambulance response,GP surgery,"
        "children's clinic,cancer screening,waiting list,nurse shortage,care home",
        "opens,expands,is under pressure,gets funding,improves,struggles",
        "paediatric,emergency,new,free,specialist,rural",
        ("Public Health Agency", "PHA"),
        "The {adj} {noun} at {place} general hospital {verb2} this {month}.",
        "Doctors warned that the {noun} in {place} needs {number} more staff.",
        "The {org_long} ({org}) published figures on the {noun}.",
    ),
    _section(
        "science",
        "telescope,research centre,satellite,comet,fossil,climate study,robot,gene therapy,"
        "microplastics survey,quantum computer,observatory,laboratory",
        "discovers,launches,tests,maps,reveals,measures",
        "rare,first,artificial,marine,ancient,experimental",
        ("National Science Foundation", "NSF"),
        "Scientists at {place} university said the {noun} {verb} new data.",
        "The {adj} {noun} project received a grant of {number} thousand pounds.",
        "Professor {person} presented the {noun} results to the {org_long} ({org}).",
    ),
    _section(
        "economy",
        "unemployment rate,inflation,minimum wage,factory,small business,port,tourism,"
        "retail sales,startup,investment fund,energy prices,exports",
        "rises,falls,stalls,recovers,doubles,slows",
        "monthly,record,regional,global,seasonal,digital",
        ("Chamber of Commerce", "COC"),
        "The {noun} in {place} {verb} for the {adj} quarter, officials said.",
        "Analysts expect the {noun} to change by {number} per cent this {month}.",
        "The {org_long} ({org}) called for support for workers and employers.",
    ),
    _section(
        "education",
        "primary school,university,school meals,teacher training,exam results,apprenticeship,"
        "vocational college,scholarship,school building,adult classes",
        "expands,reopens,is funded,improves,is criticised,celebrates",
        "free,online,vocational,new,digital,international",
        ("Education Standards Office", "ESO"),
        "Pupils in {place} will benefit from the {adj} {noun} from {month}.",
        "Teacher {person} said the {noun} helps {number} students every year.",
        "Inspectors from the {org_long} ({org}) praised the {noun}.",
    ),
    _section(
        "environment",
        "flood defences,air quality,river clean-up,tree planting,heatwave plan,wildlife reserve,"
        "solar farm,wind turbines,food waste,green roofs,coastal erosion",
        "improves,is completed,is delayed,expands,wins award,is threatened",
        "green,rare,coastal,urban,sustainable,protected",
        ("Environment Protection Agency", "EPA"),
        "Volunteers in {place} joined the {adj} {noun} project this {month}.",
        "The {noun} will protect {number} homes, the {org_long} ({org}) said.",
        "Residents of {place} asked for more information about the {noun}.",
    ),
    _section(
        "culture",
        "festival,museum,theatre,concert,exhibition,film premiere,book fair,street art,orchestra,"
        "heritage site,gallery,carnival",
        "returns,opens,sells out,is cancelled,celebrates anniversary,attracts crowds",
        "annual,summer,historic,free,international,local",
        ("Arts and Heritage Council", "AHC"),
        "The {adj} {noun} in {place} {verb} with {number} visitors.",
        "Curator {person} said the {noun} shows work from {number} artists.",
        "Funding from the {org_long} ({org}) made the {noun} possible.",
    ),
    _section(
        "sport",
        "marathon,football club,swimming pool,cycling race,tennis tournament,stadium,rowing team,"
        "athletics meeting,leisure centre,basketball league",
        "wins,loses,reopens,hosts,is refurbished,breaks record",
        "local,junior,national,women's,annual,record",
        ("Sports Development Trust", "SDT"),
        "The {adj} {noun} in {place} {verb} after a strong season.",
        "Coach {person} said {number} athletes took part in the {noun}.",
        "The {org_long} ({org}) will invest in the {noun}.",
    ),
    _section(
        "labour",
        "child labour,migrant workers,safety at work,trade union,working hours,seafarers,"
        "decent work,pay gap,domestic workers,job training",
        "rises,falls,stalls,improves,is debated,is reformed",
        "fair,minimum,occupational,informal,global,safe",
        ("Workers Rights Commission", "WRC"),
        "A report on {noun} in {place} shows {number} thousand people affected.",
        "Union leader {person} called for {adj} rules on {noun}.",
        "The {org_long} ({org}) will meet in {month} to discuss {noun}.",
    ),
    _section(
        "technology",
        "broadband,data centre,artificial intelligence,cyber attack,mobile network,app,"
        "electric cars,smart meters,online services,digital skills",
        "launches,expands,is hacked,is upgraded,goes live,is tested",
        "fast,secure,public,digital,new,smart",
        ("Digital Services Authority", "DSA"),
        "Residents in {place} can now use the {adj} {noun}.",
        "The company said the {noun} cost {number} million pounds.",
        "Experts at the {org_long} ({org}) warned about the {noun}.",
    ),
    _section(
        "housing",
        "affordable homes,rent controls,social housing,building site,housing estate,"
        "homelessness,tower block,new homes,repairs backlog",
        "is approved,is delayed,rises,falls,is completed,is criticised",
        "affordable,social,private,empty,new,energy-efficient",
        ("Housing Development Corporation", "HDC"),
        "The {adj} {noun} in {place} {verb} after years of planning.",
        "Tenant {person} said {number} families are waiting for {noun}.",
        "The {org_long} ({org}) plans {number} more {noun} by {month}.",
    ),
)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
START = dt.date(2021, 1, 1)
SPAN_DAYS = 3 * 365


def generate(n: int, seed: int = 7) -> list[NewsItem]:
    """``n`` synthetic news items, the same for the same ``seed``."""
    rng = random.Random(seed)
    items = []
    for number in range(n):
        section = rng.choice(_SECTIONS)
        noun, place = rng.choice(section.nouns), rng.choice(_PLACES)
        verb, adj = rng.choice(section.verbs), rng.choice(section.adjectives)
        title = rng.choice(
            (
                f"{place} {noun} {verb}",
                f"{adj.capitalize()} {noun} {verb} in {place}",
                f"{noun.capitalize()} in {place} {verb}",
                f"{section.organisation[1]}: {noun} {verb}",
            )
        )
        fields = {
            "noun": noun,
            "place": place,
            "verb": verb,
            "verb2": rng.choice(section.verbs).split()[0],
            "adj": adj,
            "org_long": section.organisation[0],
            "org": section.organisation[1],
            "person": rng.choice(_PEOPLE),
            "number": rng.randint(2, 950),
            "month": rng.choice(_MONTHS),
        }
        sentences = rng.sample(section.bodies, k=rng.randint(2, len(section.bodies)))
        summary = " ".join(s.format(**fields) for s in sentences)
        date = START + dt.timedelta(days=rng.randrange(SPAN_DAYS))
        items.append(
            NewsItem(
                id=f"{date.isoformat()}-{section.name}-{number}",
                title=title[:1].upper() + title[1:],
                date=date,
                summary=summary,
                url=f"https://news.example.org/{section.name}/{number}",
                tags=(section.name,),
            )
        )
    return items


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


NEGATIVES = (
    "bitcoin price",
    "recipe for pancakes",
    "weather in paris tomorrow",
    "asdfghjkl",
    "taylor swift album",
    "how to reset my password",
    "cheap flights to bali",
    "lottery numbers",
)


def queries(items: Sequence[NewsItem], n: int, seed: int = 11) -> list[str]:
    """``n`` questions about ``items``: title words, typos, dates and negatives, seeded."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        item = rng.choice(items)
        words = [w for w in item.title.replace(":", "").split() if len(w) > 3]
        kind = rng.random()
        if kind < 0.45 and words:
            out.append(" ".join(rng.sample(words, k=min(len(words), rng.randint(1, 3)))))
        elif kind < 0.65 and words:
            out.append(" ".join(_typo(w.lower(), rng) for w in words[:2]))
        elif kind < 0.8:
            out.append(
                f"news from {item.date.day} {_MONTHS[item.date.month - 1]} {item.date.year}"
            )
        elif kind < 0.9:
            out.append(f"latest on {rng.choice(words) if words else item.tags[0]}")
        else:
            out.append(rng.choice(NEGATIVES))
    return out
