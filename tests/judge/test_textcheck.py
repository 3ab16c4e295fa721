from workbench.judge.textcheck import check_text, infix_distance


def test_exact_and_case_insensitive_hits():
    check = check_text(["OPEN"], "Sign: OPEN  24 hours")
    assert check.hit and check.exact and check.distance == 0 and check.missing_words == []
    check = check_text(["OPEN"], "open")
    assert check.hit and not check.exact


def test_a_missing_word_is_named():
    check = check_text(["Grand Hotel Budapest"], "GRAND BUDAPEST")
    assert not check.hit
    assert check.missing_words == ["hotel"]
    assert 0 < check.distance < 0.5


def test_a_misspelling_costs_edits_and_a_word():
    check = check_text(["OPEN"], "OPNE")
    assert not check.hit and check.missing_words == ["open"]
    assert check.distance == 0.25     # "OPN" + an E: one edit over four letters


def test_nothing_read_is_a_full_miss():
    check = check_text(["Café Noir"], "")
    assert not check.hit and check.distance == 1.0
    assert check.missing_words == ["café", "noir"]


def test_several_texts_each_checked():
    check = check_text(["OPEN", "CLOSED"], "OPEN / CL0SED")
    assert [p.hit for p in check.parts] == [True, False]
    assert not check.hit and check.missing_words == ["closed"]


def test_unicode_forms_and_whitespace_fold():
    check = check_text(["ВЫХОД"], "ＶＹ ВЫХОД\n")   # full-width letters, a newline
    assert check.hit
    assert check_text([], "anything") is None


def test_infix_distance():
    assert infix_distance("abc", "xxabcxx") == 0
    assert infix_distance("abc", "xxabxx") == 1
    assert infix_distance("", "x") == 0
    assert infix_distance("abc", "") == 3
