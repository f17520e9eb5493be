"""The reader's record of seen ids: when may a gap hide an event it has not seen?"""

from __future__ import annotations

from gateway.streaming import SeenIds


def test_consecutive_ids_hide_nothing():
    seen = SeenIds(floor=10)
    for event_id in (11, 12, 13):
        seen.add(event_id)
    assert not seen.may_hide(11, 13)
    assert seen.missing == []


def test_an_id_not_seen_yet_may_hide_an_event_until_it_arrives():
    seen = SeenIds(floor=10)
    seen.add(11)
    seen.add(14)
    assert seen.missing == [12, 13]
    assert seen.may_hide(11, 14)
    assert not seen.may_hide(13, 14) and not seen.may_hide(10, 12)
    seen.add(13)
    seen.add(12)
    assert not seen.may_hide(11, 14)


def test_ids_before_the_start_or_forgotten_are_unknown():
    seen = SeenIds(floor=10)
    seen.add(11)
    assert seen.may_hide(5, 11)  # 6..10 came before the reader started
    seen.add(13)
    seen.forget(12)
    assert seen.missing == [] and seen.floor == 12
    assert seen.may_hide(11, 13)  # 12 is unknown now: the table decides
    assert not seen.may_hide(12, 13)


def test_a_jump_too_large_to_list_is_forgotten():
    seen = SeenIds(floor=0)
    seen.add(1)
    seen.add(1 + SeenIds.MAX_GAP + 5)
    assert seen.missing == []
    assert seen.may_hide(1, 1 + SeenIds.MAX_GAP + 5)
