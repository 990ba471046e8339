"""How Goodreads shelves become catalogue categories and tags.

Goodreads "tags" are the shelf names readers file a book under. Many are not genres
("to-read", "owned", "favorites", "kindle", "read-in-2015"), so only the shelves listed
here count. Each book goes to the category whose shelves readers used most often for it,
each shelf count multiplied by the shelf's weight. Broad shelves ("fiction", "novels",
"funny") carry a small weight so that a specific genre wins whenever readers named one.
A book with no genre-like shelf at all goes to ``FALLBACK_CATEGORY``.
"""

from __future__ import annotations

import re

FALLBACK_CATEGORY = "General"

# category -> {shelf name: weight}
CATEGORY_SHELVES: dict[str, dict[str, float]] = {
    "Fantasy": dict.fromkeys(
        [
            "fantasy",
            "epic-fantasy",
            "high-fantasy",
            "urban-fantasy",
            "magic",
            "dragons",
            "fae",
            "faeries",
            "fairies",
            "vampires",
            "vampire",
            "werewolves",
            "supernatural",
            "paranormal",
            "mythology",
            "witches",
            "fairy-tales",
            "sword-and-sorcery",
            "fantasy-sci-fi",
        ],
        1.0,
    ),
    "Science Fiction": dict.fromkeys(
        [
            "science-fiction",
            "sci-fi",
            "scifi",
            "sf",
            "dystopian",
            "dystopia",
            "space-opera",
            "cyberpunk",
            "post-apocalyptic",
            "apocalyptic",
            "time-travel",
            "aliens",
            "space",
            "sci-fi-fantasy",
            "science-fiction-fantasy",
            "speculative-fiction",
        ],
        1.0,
    ),
    "Mystery & Crime": dict.fromkeys(
        [
            "mystery",
            "mysteries",
            "crime",
            "detective",
            "mystery-thriller",
            "cozy-mystery",
            "murder-mystery",
            "whodunit",
            "police-procedural",
            "noir",
            "crime-fiction",
            "mystery-suspense",
            "sherlock-holmes",
        ],
        1.0,
    ),
    "Thriller & Suspense": dict.fromkeys(
        ["thriller", "thrillers", "suspense", "psychological-thriller", "espionage", "spy", "legal-thriller", "action"],
        1.0,
    ),
    "Romance": dict.fromkeys(
        [
            "romance",
            "contemporary-romance",
            "historical-romance",
            "chick-lit",
            "chicklit",
            "chic-lit",
            "paranormal-romance",
            "new-adult",
            "erotica",
            "erotic-romance",
            "romantic-suspense",
            "regency",
            "love-story",
            "romance-novels",
            "womens-fiction",
            "women-s-fiction",
        ],
        1.0,
    ),
    "Historical Fiction": dict.fromkeys(
        [
            "historical-fiction",
            "historical",
            "hist-fic",
            "historical-novels",
            "historical-fic",
            "ww2-fiction",
            "wwii-fiction",
        ],
        1.0,
    ),
    "Classics": dict.fromkeys(
        [
            "classics",
            "classic",
            "classic-literature",
            "classic-fiction",
            "classic-lit",
            "classics-to-read",
            "modern-classics",
            "1001-books",
            "1001-books-to-read-before-you-die",
            "1001",
            "1001-books-you-must-read-before-you",
            "19th-century",
            "victorian",
            "russian-literature",
            "plays",
            "shakespeare",
            "drama-plays",
            "theatre",
        ],
        1.0,
    ),
    "Literary Fiction": {
        **dict.fromkeys(
            [
                "literary-fiction",
                "literary",
                "contemporary-fiction",
                "general-fiction",
                "modern-fiction",
                "book-club",
                "bookclub",
            ],
            0.6,
        ),
        **dict.fromkeys(
            ["fiction", "literature", "novels", "novel", "contemporary", "realistic-fiction", "adult-fiction"], 0.15
        ),
    },
    "Young Adult": dict.fromkeys(
        [
            "young-adult",
            "ya",
            "ya-fiction",
            "teen",
            "young-adult-fiction",
            "ya-books",
            "ya-lit",
            "teen-fiction",
            "ya-contemporary",
            "ya-romance",
            "ya-fantasy",
            "ya-dystopian",
        ],
        1.0,
    ),
    "Children's": dict.fromkeys(
        [
            "children",
            "childrens",
            "children-s",
            "kids",
            "children-s-books",
            "childrens-books",
            "kids-books",
            "middle-grade",
            "picture-books",
            "picture-book",
            "chapter-books",
            "juvenile",
            "juvenile-fiction",
            "children-s-literature",
            "childrens-lit",
            "childrens-literature",
            "children-s-lit",
            "children-s-fiction",
            "kid-lit",
        ],
        1.0,
    ),
    "Horror": dict.fromkeys(["horror", "scary", "ghosts", "zombies", "gothic", "stephen-king", "creepy"], 1.0),
    "History": dict.fromkeys(
        [
            "history",
            "world-history",
            "military-history",
            "ww2",
            "wwii",
            "world-war-ii",
            "holocaust",
            "american-history",
            "historical-nonfiction",
            "non-fiction-history",
        ],
        1.0,
    ),
    "Biography & Memoir": dict.fromkeys(
        [
            "biography",
            "memoir",
            "memoirs",
            "autobiography",
            "biographies",
            "biography-memoir",
            "bio",
            "biographies-memoirs",
            "memoir-biography",
            "autobiography-memoir",
            "biography-autobiography",
            "bio-memoir",
            "biographical",
            "autobiographies",
        ],
        1.0,
    ),
    "Science & Nature": dict.fromkeys(
        [
            "science",
            "popular-science",
            "physics",
            "biology",
            "nature",
            "psychology",
            "neuroscience",
            "evolution",
            "medicine",
            "math",
            "mathematics",
            "astronomy",
            "environment",
            "health",
        ],
        1.0,
    ),
    "Philosophy": dict.fromkeys(["philosophy", "philosophical", "existentialism"], 1.0),
    "Poetry": dict.fromkeys(["poetry", "poems", "poesia"], 1.0),
    "Comics & Graphic Novels": dict.fromkeys(
        [
            "graphic-novels",
            "graphic-novel",
            "comics",
            "comic",
            "manga",
            "comic-books",
            "graphic-novels-comics",
            "comics-graphic-novels",
        ],
        1.0,
    ),
    "Self-Help": dict.fromkeys(
        [
            "self-help",
            "personal-development",
            "self-improvement",
            "productivity",
            "motivation",
            "motivational",
            "personal-growth",
            "self-development",
            "relationships-self-help",
        ],
        1.0,
    ),
    "Religion & Spirituality": dict.fromkeys(
        [
            "religion",
            "christian",
            "christianity",
            "spirituality",
            "faith",
            "theology",
            "christian-fiction",
            "religious",
            "inspirational",
            "spiritual",
            "buddhism",
            "god",
        ],
        1.0,
    ),
    "Business & Economics": dict.fromkeys(
        [
            "business",
            "economics",
            "finance",
            "management",
            "leadership",
            "entrepreneurship",
            "marketing",
            "money",
            "investing",
        ],
        1.0,
    ),
    "Humor": {**dict.fromkeys(["humor", "humour", "comedy"], 0.7), "funny": 0.3},
    "Politics & Society": dict.fromkeys(
        [
            "politics",
            "sociology",
            "feminism",
            "political",
            "social-justice",
            "economics-politics",
            "current-events",
            "race",
            "true-crime",
            "journalism",
        ],
        1.0,
    ),
}

SHELF_TO_CATEGORY: dict[str, tuple[str, float]] = {
    shelf: (category, weight) for category, shelves in CATEGORY_SHELVES.items() for shelf, weight in shelves.items()
}

# Broad shelves that decide a category but say too little to show as a tag.
UNTAGGED_SHELVES = {
    "fiction",
    "literature",
    "novels",
    "novel",
    "contemporary",
    "adult-fiction",
    "book-club",
    "bookclub",
    "funny",
    "realistic-fiction",
    "1001",
    "1001-books-you-must-read-before-you",
}


def slugify(name: str) -> str:
    """URL slug of a category name: "Mystery & Crime" -> "mystery-crime"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("'", "")).strip("-")


def categorise(shelves: list[tuple[str, int]], max_tags: int = 5) -> tuple[str, list[str]]:
    """Category and tags of a book from its (shelf name, count) pairs.

    Returns the winning category and up to ``max_tags`` genre shelves, most used first.
    """
    scores: dict[str, float] = {}
    genre_shelves: list[tuple[int, str]] = []
    for shelf, count in shelves:
        mapped = SHELF_TO_CATEGORY.get(shelf)
        if mapped is None:
            continue
        category, weight = mapped
        scores[category] = scores.get(category, 0.0) + weight * count
        if shelf not in UNTAGGED_SHELVES:
            genre_shelves.append((count, shelf))
    category = max(sorted(scores), key=scores.__getitem__) if scores else FALLBACK_CATEGORY
    genre_shelves.sort(key=lambda pair: (-pair[0], pair[1]))
    return category, [shelf for _, shelf in genre_shelves[:max_tags]]


def primary_author(authors: str) -> str:
    """The first name in a catalogue's author field, lower-cased: "J.K. Rowling, Mary GrandPré" -> "j.k. rowling".

    Later names are often illustrators, translators, narrators or a pen name's owner.
    """
    return " ".join(authors.split(",")[0].split()).lower()


def categories_by_authors(shelved: list[tuple[str, str]], unshelved: list[str]) -> list[str]:
    """A category for each book without shelves, from its primary author's shelved books.

    ``shelved`` is (authors, category) of every book whose category came from its shelves;
    ``unshelved`` the authors of each book without shelves. Only the first-listed author
    counts on both sides (so Mary GrandPré's illustrations, or a co-credit on a pen name's
    crime novels, do not decide a novel's genre). A book gets the category most of that
    author's shelved books have, ties going to the alphabetically first category; when
    the author has no shelved book, it gets ``FALLBACK_CATEGORY``.
    """
    by_author: dict[str, dict[str, int]] = {}
    for authors, category in shelved:
        counts = by_author.setdefault(primary_author(authors), {})
        counts[category] = counts.get(category, 0) + 1
    chosen = []
    for authors in unshelved:
        votes = by_author.get(primary_author(authors), {}) if authors.strip() else {}
        chosen.append(min(votes, key=lambda category: (-votes[category], category)) if votes else FALLBACK_CATEGORY)
    return chosen
