"""Name lists for the synthetic directory: French and English names, some accented or compound.

`handle_prefixes()` turns (first, last, style) combinations into distinct handle stems such as
`mariedupont`, `marie_dupont`, `mdupont` or `dupont_marie`; the generator appends a number to
make each handle unique (see bench/generate.py).
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re

from matching.identifiers import search_key

FIRST_NAMES = [
    "Marie",
    "Jean",
    "Pierre",
    "Michel",
    "André",
    "Philippe",
    "Nicolas",
    "Alain",
    "Jacques",
    "Bernard",
    "Christophe",
    "Daniel",
    "Patrick",
    "Éric",
    "Frédéric",
    "Laurent",
    "Stéphane",
    "David",
    "Julien",
    "Sébastien",
    "Thomas",
    "Antoine",
    "François",
    "Hélène",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Catherine",
    "Françoise",
    "Valérie",
    "Christine",
    "Sophie",
    "Sandrine",
    "Céline",
    "Aurélie",
    "Camille",
    "Léa",
    "Chloé",
    "Manon",
    "Inès",
    "Zoé",
    "Léo",
    "Gabriel",
    "Raphaël",
    "Louis",
    "Lucas",
    "Hugo",
    "Jules",
    "Arthur",
    "Noé",
    "Maël",
    "Anaïs",
    "Émilie",
    "Élodie",
    "Margaux",
    "Clémence",
    "Gaëlle",
    "Noémie",
    "Benoît",
    "Jérôme",
    "Jérémy",
    "Grégoire",
    "Cécile",
    "Agnès",
    "Joël",
    "Josiane",
    "Joséphine",
    "Jocelyne",
    "Johanna",
    "Jordan",
    "Joris",
    "Martine",
    "Marc",
    "Mathieu",
    "Maxime",
    "Mathilde",
    "Marion",
    "Marine",
    "Manuel",
    "Mélanie",
    "Océane",
    "Solène",
    "Renée",
    "Geneviève",
    "Jean-Pierre",
    "Jean-Luc",
    "Jean-Marc",
    "Marie-Claire",
    "Marie-Hélène",
    "Anne-Marie",
    "Marie-France",
    "Marie-Christine",
    "Jean-François",
    "Jean-Baptiste",
    "Anne",
    "Paul",
    "Louise",
    "Alice",
    "Juliette",
    "John",
    "James",
    "Robert",
    "Michael",
    "William",
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Joseph",
    "Charles",
    "Christopher",
    "Matthew",
    "Anthony",
    "Mark",
    "Donald",
    "Steven",
    "Andrew",
    "Joshua",
    "Emily",
    "Emma",
    "Olivia",
    "Sophia",
    "Joan",
    "Joanne",
    "Jonathan",
    "Jon",
    "Joe",
    "Josh",
    "Jack",
    "Harry",
    "Oliver",
    "George",
    "Amelia",
    "Grace",
    "Chloe",
    "Zoe",
]

LAST_NAMES = [
    "Dupont",
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupuis",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Meunier",
    "Brun",
    "Blanchard",
    "Giraud",
    "Joly",
    "Rivière",
    "Lucas",
    "Brunet",
    "Gaillard",
    "Barbier",
    "Arnaud",
    "Gérard",
    "Roche",
    "Renard",
    "Schmitt",
    "Roy",
    "Leroux",
    "Colin",
    "Vidal",
    "Caron",
    "Picard",
    "Roger",
    "Fabre",
    "Aubert",
    "Lemoine",
    "Renaud",
    "Dumas",
    "Lacroix",
    "Olivier",
    "Philippe",
    "Bourgeois",
    "Pierre",
    "Benoît",
    "Rey",
    "Leclerc",
    "Payet",
    "Rolland",
    "Guillaume",
    "Lecomte",
    "Lopez",
    "Jean",
    "Dupuy",
    "Guillot",
    "Hubert",
    "Berger",
    "Carpentier",
    "Sanchez",
    "Moulin",
    "Louis",
    "Deschamps",
    "Huet",
    "Vasseur",
    "Perez",
    "Boucher",
    "Fleury",
    "Royer",
    "Klein",
    "Jacquet",
    "Adam",
    "Paris",
    "Poirier",
    "Marty",
    "Aubry",
    "Guyot",
    "Carré",
    "Charles",
    "Renault",
    "Charpentier",
    "Ménard",
    "Maillard",
    "Baron",
    "Bertin",
    "Bailly",
    "Hervé",
    "Schneider",
    "Fernandez",
    "Le-Gall",
    "Collet",
    "Léger",
    "Bouvier",
    "Julien",
    "Prévost",
    "Millet",
    "Perrot",
    "Daniel",
    "Le-Roux",
    "Cousin",
    "Germain",
    "Breton",
    "Besson",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Reed",
    "Bailey",
    "Bell",
    "Kelly",
    "Howard",
    "Ward",
    "Cox",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Bennett",
    "Gray",
    "James",
    "Hughes",
    "Price",
    "Sanders",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "O'Brien",
    "O'Connor",
]

# Names that appear about once in 10,000 entries: the "rare" search queries.
RARE_NAMES = [
    "Ysolde Kerhervé",
    "Aurèle Quéméner",
    "Tiphaine Le Bihan",
    "Évariste Vandenbroucke",
    "Bérangère Ozanam",
    "Cunégonde Lhuillier",
    "Perceval Zwingelstein",
    "Wendeline Fauconnet",
]
# Entries whose row number g satisfies g % RARE_EVERY == RARE_AT get a rare display name.
RARE_EVERY = 9973
RARE_AT = 17

# Fediverse servers, repeated to weight them; Bluesky handles end in .bsky.social.
FEDIVERSE_HOSTS = [
    *["mastodon.social"] * 5,
    *["piaille.fr"] * 2,
    *["mastodon.online"] * 2,
    "mamot.fr",
    "framapiaf.org",
    "mstdn.social",
    "hachyderm.io",
    "fosstodon.org",
    "social.coop",
    "eldritch.cafe",
]

# Handle styles: (stem, CamelCase stem) from the letters-only first and last names.
_STYLES = 7
_NOT_LETTERS = re.compile(r"[^a-z]")


@dataclasses.dataclass(frozen=True)
class Prefix:
    """One distinct handle stem and the display name of the people who use it."""

    lower: str
    camel: str
    display_name: str
    name_key: str


@functools.cache
def _letters(name: str) -> str:
    return _NOT_LETTERS.sub("", search_key(name))


@functools.cache
def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z]+", _ascii(name)) if part)


def _ascii(name: str) -> str:
    return "".join(ch for ch in search_key(name) if ch.isascii())


def _style(style: int, first: str, last: str) -> tuple[str, str]:
    f, lst = _letters(first), _letters(last)
    cf, cl = _camel(first), _camel(last)
    if style == 0:
        return f + lst, cf + cl
    if style == 1:
        return f"{f}_{lst}", f"{cf}_{cl}"
    if style == 2:
        return f[0] + lst, cf[0] + cl
    if style == 3:
        return f"{f}_{lst[0]}", f"{cf}_{cl[0]}"
    if style == 4:
        return f"{lst}_{f}", f"{cl}_{cf}"
    if style == 5:
        return f, cf
    return lst + f[0], cl + cf[0]


@functools.cache
def _search_key(text: str) -> str:
    return search_key(text)


def _display(name: str) -> str:
    return name.replace("Le-", "Le ")  # "Le-Gall" in the list keeps the split simple


def handle_prefixes(max_length: int, seed: int) -> list[Prefix]:
    """Distinct handle stems (case-insensitively), at most `max_length` characters, shuffled.

    Stems are letters and inner underscores only (never a digit, never a trailing underscore),
    so `stem + str(n)` is unique for distinct (stem, n) pairs.
    """
    seen: set[str] = set()
    found: list[Prefix] = []
    for first in FIRST_NAMES:
        for last in LAST_NAMES:
            display = f"{_display(first)} {_display(last)}"
            for style in range(_STYLES):
                lower, camel = _style(style, first, last)
                lower, camel = lower[:max_length].rstrip("_"), camel[:max_length].rstrip("_")
                assert lower == camel.lower(), (lower, camel)
                if lower in seen:
                    continue
                seen.add(lower)
                found.append(Prefix(lower, camel, display, _search_key(display)))
    random.Random(seed).shuffle(found)
    return found


def prefixes_for(entries: int, seed: int) -> list[Prefix]:
    """Stems short enough that stem + the largest suffix number fits X's 15 characters."""
    length = 13
    while True:
        stems = handle_prefixes(length, seed)
        largest = (entries - 1) // len(stems)
        digits = len(str(largest)) if largest > 0 else 0
        if length + digits <= 15:
            return stems
        length = 15 - digits
