import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra import ValidationError
from mastra.vector.filters import MetadataTable, validate_filter

DOCS = [
    {"kind": "book", "price": 12, "tags": ["sci", "old"], "author": {"name": "Ada", "age": 36}},
    {"kind": "book", "price": 8.5, "tags": ["new"], "author": {"name": "Bo"}},
    {"kind": "film", "price": 12.0, "rating": None},
    {"kind": "film", "price": "free", "author": {"name": "Ada"}},
    {"kind": True, "price": 1},
    {},
]


def matching(spec, docs=DOCS):
    table = MetadataTable()
    for doc in docs:
        table.append(doc)
    return np.flatnonzero(table.mask(validate_filter(spec))).tolist()


@pytest.mark.parametrize(
    ("spec", "rows"),
    [
        ({"kind": "book"}, [0, 1]),
        ({"kind": {"$eq": "film"}}, [2, 3]),
        ({"price": 12}, [0, 2]),  # 12 == 12.0
        ({"price": 1}, [4]),
        ({"kind": True}, [4]),  # booleans are not numbers
        ({"kind": {"$ne": "book"}}, [2, 3, 4, 5]),  # missing keys match $ne
        ({"price": {"$gt": 8.5}}, [0, 2]),
        ({"price": {"$gte": 8.5, "$lt": 12}}, [1]),
        ({"price": {"$lte": 1}}, [4]),
        ({"price": {"$gt": "a"}}, [3]),  # strings compare with strings only
        ({"tags": "sci"}, [0]),  # list contains
        ({"tags": ["new"]}, [1]),  # whole-list equality
        ({"tags": {"$in": ["new", "old"]}}, [0, 1]),
        ({"tags": {"$nin": ["new"]}}, [0, 2, 3, 4, 5]),
        ({"author.name": "Ada"}, [0, 3]),
        ({"author.age": {"$exists": True}}, [0]),
        ({"rating": {"$exists": True}}, [2]),
        ({"rating": None}, [2]),
        ({"author": {"$exists": False}}, [2, 4, 5]),
        ({"author": {"name": "Bo"}}, [1]),  # object equality
        ({"author": {"$eq": {"gt": 1}}}, []),  # an object with operator-like keys, explicitly
        ({"author": {"name": "Bo", "gt": 1}}, []),  # not only operator names: a plain object
        ({"$or": [{"kind": "film"}, {"price": {"$lt": 9}}]}, [1, 2, 3, 4]),
        ({"$and": [{"kind": "book"}, {"author.name": "Ada"}]}, [0]),
        ({"$not": {"kind": "book"}}, [2, 3, 4, 5]),
        ({"price": {"$not": {"$gt": 10}}}, [1, 3, 4, 5]),
        ({"kind": "book", "price": {"$lt": 10}}, [1]),
        ({}, [0, 1, 2, 3, 4, 5]),
    ],
)
def test_semantics(spec, rows):
    assert matching(spec) == rows


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([1], "a filter must be an object"),
        ({"$xor": []}, r"unknown logical operator '\$xor'"),
        ({"a": {"$regex": "x"}}, r"unknown operator '\$regex' on 'a'"),
        ({"a": {"$in": "x"}}, r"\$in on 'a' takes a list"),
        ({"a": {"$exists": 1}}, "takes true or false"),
        ({"a": {"$gt": [1]}}, "takes a number or a string"),
        ({"a": {"$gt": True}}, "takes a number or a string"),
        ({"$and": []}, "non-empty list"),
        ({"a": {"$not": 5}}, "takes an operator object"),
        ({"a": {"$eq": {1, 2}}}, "is not JSON"),
        ({"year": {"gt": 2020}}, r"'gt' without the '\$'; did you mean \$gt\?"),
        ({"year": {"gte": 1, "lt": 5}}, r"did you mean \$gte\?"),
        ({"$or": [{"a": 1}, {"tag": {"nin": ["x"]}}]}, r"on 'tag' .*did you mean \$nin\?"),
        ({"a": {"$not": {"exists": True}}}, "takes an operator object"),
        ({"year": {"$gt": 1, "lt": 5}}, r"unknown operator 'lt' on 'year'; did you mean \$lt\?"),
        ({"a": float("nan")}, r"filter value for 'a' is nan; numbers must be finite"),
        ({"a": {"$in": [1, float("inf")]}}, r"filter value for 'a'\[1\] is inf"),
    ],
)
def test_bad_filters(spec, message):
    with pytest.raises(ValidationError, match=message):
        validate_filter(spec)


def brute_force(docs, key, value):
    return [i for i, doc in enumerate(docs) if doc.get(key) == value]


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["append", "replace", "delete", "query"]),
            st.integers(0, 50),
            st.integers(0, 4),
        ),
        max_size=60,
    )
)
def test_indexes_stay_correct_through_appends_replaces_and_deletes(ops):
    """Indexes are built lazily and then maintained; compare with a brute-force scan."""
    table, docs = MetadataTable(), []
    for op, row, value in ops:
        if op == "append" or not docs:
            docs.append({"v": value, "tag": f"t{value % 2}"})
            table.append(docs[-1])
        elif op == "replace":
            row %= len(docs)
            docs[row] = {"v": value}
            table.replace(row, docs[row])
        elif op == "delete":
            row %= len(docs)
            docs[row] = docs[-1]
            docs.pop()
            table.move_last_to(row)
        else:
            assert np.flatnonzero(table.mask({"v": value})).tolist() == brute_force(
                docs, "v", value
            )
            assert np.flatnonzero(table.mask({"v": {"$gte": value}})).tolist() == [
                i for i, d in enumerate(docs) if d["v"] >= value
            ]
    for value in range(5):
        assert np.flatnonzero(table.mask({"v": value})).tolist() == brute_force(docs, "v", value)
