"""Population margins CSV: checked against the campaign's weighting variables, errors by line."""

import pytest

from app.scores.service import MarginsInvalid, parse_margins, set_margins
from tests.scores.builders import satisfaction_campaign

SETTINGS = {"weighting": {"method": "rake", "variables": ["sex", "unit"]}}


def problems(campaign, text):
    with pytest.raises(MarginsInvalid) as caught:
        parse_margins(campaign, text)
    return caught.value.problems


def test_good_margins_are_stored_in_the_campaign_settings(db):
    org, campaign, u1, u2 = satisfaction_campaign(settings=SETTINGS)
    text = "\ufeffvariable,level,total\nsex,male,60\nsex,female,40\nunit,u1,70\nunit,u2,30\n"
    set_margins(campaign, text)
    db.session.commit()
    assert campaign.settings["weighting"]["margins"] == {
        "sex": {"male": 60.0, "female": 40.0},
        "unit": {"u1": 70.0, "u2": 30.0},
    }
    assert campaign.settings["weighting"]["method"] == "rake"


def test_every_problem_is_listed_with_its_line(db):
    org, campaign, u1, u2 = satisfaction_campaign(settings=SETTINGS)
    found = problems(
        campaign,
        "variable,level,total\n"
        "sex,male,60\n"
        "age,young,10\n"  # line 3: not a variable of the campaign
        "sex,other,5\n"  # line 4: not a level
        "unit,u1,abc\n"  # line 5: not a number
        "sex,male,60\n"  # line 6: twice
        "unit,u2\n"  # line 7: too few fields
        "unit,u1,-1\n",  # line 8: negative
    )
    assert found[0].startswith("line 3: unknown variable 'age'") and "sex, unit" in found[0]
    assert found[1].startswith("line 4: 'other' is not a level of sex; use one of male, female")
    assert found[2] == "line 5: total 'abc' is not a number"
    assert found[3] == "line 6: sex=male is given twice"
    assert found[4] == "line 7: expected 3 fields, found 2"
    assert found[5] == "line 8: total must be a number of at least 0"


def test_a_missing_variable_and_disagreeing_totals_are_refused(db):
    org, campaign, u1, u2 = satisfaction_campaign(settings=SETTINGS)
    assert problems(campaign, "variable,level,total\nsex,male,60\n") == [
        "no totals for the variable 'unit'"
    ]
    found = problems(campaign, "variable,level,total\nsex,male,60\nunit,u1,70\n")
    assert "add up to 70" in found[0]


def test_a_bad_header_or_a_campaign_without_variables_is_refused(db):
    org, campaign, u1, u2 = satisfaction_campaign(settings=SETTINGS)
    assert problems(campaign, "a,b,c\n") == ["line 1: the header must be 'variable,level,total'"]
    other_org, plain, *_ = satisfaction_campaign(code="org2")
    assert "no weighting variables" in problems(plain, "variable,level,total\n")[0]
