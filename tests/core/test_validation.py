"""Phone numbers, e-mail addresses and company names: the validators, and the customer form
answering 422 with the message when one fails."""
from __future__ import annotations

import pytest

from crm.customers.models import Customer
from crm.validation import check_company_name, display_phone, normalise_email, normalise_phone
from tests.conftest import htmx

MOBILE_11 = "A mobile number has 11 digits."
AREA_CODE = "A landline number needs its area code"


@pytest.mark.parametrize("raw, e164", [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    ("１３８１２３４５６７８", "+8613812345678"),     # full-width digits from a Chinese IME
    ("010-12345678", "+861012345678"),
    ("(010) 1234 5678", "+861012345678"),
    ("0571-88888888", "+8657188888888"),
    ("+861012345678", "+861012345678"),
    ("", ""),
])
def test_phone_normalised_to_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw, message", [
    ("1381234567", MOBILE_11),
    ("138123456789", MOBILE_11),
    ("+86 1381234567", MOBILE_11),
    ("１３８１２３４５６７", MOBILE_11),
    ("12345678", AREA_CODE),
    ("8888888", AREA_CODE),
    ("abc", "This is not a phone number."),
    ("12345678901", "not valid"),
])
def test_phone_rejected_with_a_clear_message(raw, message):
    with pytest.raises(ValueError) as excinfo:
        normalise_phone(raw)
    assert message in str(excinfo.value.args[0])


@pytest.mark.parametrize("e164, shown", [
    ("+8613812345678", "138 1234 5678"),
    ("+861012345678", "010 1234 5678"),
    ("+8657188888888", "0571 8888 8888"),
    ("+16502530000", "+1 650-253-0000"),
    ("", ""),
])
def test_phone_displayed_in_national_format(e164, shown):
    assert display_phone(e164) == shown


def test_email_validated_and_normalised():
    assert normalise_email(" Zhang.Wei@Example.COM ") == "Zhang.Wei@example.com"
    assert normalise_email("") == ""
    for bad in ("zhangwei", "a@b", "bad@@example.com", "zhang wei@example.com"):
        with pytest.raises(ValueError):
            normalise_email(bad)


@pytest.mark.parametrize("name", ["华为技术有限公司", "阿里巴巴（中国）有限公司", "Acme Trading Ltd.",
                                  "北京协和医院", "杭州市西湖小学", "华为Huawei"])
def test_complete_company_names_accepted(name):
    check_company_name(name)


@pytest.mark.parametrize("name", ["华为", "阿里", "华为科技", "IBM", ""])
def test_incomplete_company_names_rejected(name):
    with pytest.raises(ValueError):
        check_company_name(name)


# -- the customer form --------------------------------------------------------------------------

@pytest.fixture
def post(client, login, seed):
    """POST the create form as a browser would (every field present), as the admin."""
    login("admin")
    owner = seed.user("admin").id

    def do(headers=None, **fields):
        data = {"kind": "company", "name": "华为技术有限公司", "phone": "", "email": "",
                "industry": "", "size": "", "region": "", "founded_on": "", "value_class": "C",
                "owner": owner, "source": "", "preferred_channel": "", "address": "",
                "tags": "", "notes": "", "version": ""}
        data.update(fields)
        return client.post("/customers/new", data=data, headers=headers or {})
    return do


@pytest.mark.parametrize("fields, message", [
    ({"phone": "1381234567"}, MOBILE_11),
    ({"phone": "12345678"}, AREA_CODE),
    ({"email": "zhangwei@"}, "This e-mail address is not valid."),
    ({"name": ""}, "Required."),
    ({"name": "华为"}, "full name"),
    ({"name": "华为科技"}, "full registered name"),
])
def test_customer_form_rejects_with_422(post, seed, fields, message):
    response = post(**fields)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert 'class="error"' in body and 'aria-invalid="true"' in body
    assert 'id="customer-form"' in body
    # the typed values come back (nothing to retype)
    for value in fields.values():
        assert value == "" or f'value="{value}"' in body
    # and nothing was created
    assert seed.run(Customer.select().count) == 0


def test_customer_form_422_as_htmx_partial(post):
    response = post(headers=htmx("customer-form"), phone="1381234567")
    assert response.status_code == 422
    assert b"<html" not in response.data and b'id="customer-form"' in response.data
    assert MOBILE_11.encode() in response.data
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("kind, name", [("company", "华为技术有限公司"),
                                        ("company", "Acme Trading Ltd."),
                                        ("person", "张伟"),       # a person's name may be short
                                        ("person", "李")])
def test_customer_form_accepts_names(post, kind, name):
    response = post(kind=kind, name=name)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def test_phone_stored_as_e164_and_shown_national(client, post, seed):
    response = post(phone="138 1234 5678", email="Zhang.Wei@HUAWEI.com")
    assert response.status_code == 303
    location = response.headers["Location"]
    customer_id = int(location.rstrip("/").rsplit("/", 1)[1])
    stored = seed.get_customer(customer_id)
    assert stored.phone == "+8613812345678"
    assert stored.email == "Zhang.Wei@huawei.com"
    page = client.get(location).get_data(as_text=True)
    assert "138 1234 5678" in page and "+8613812345678" not in page
    edit = client.get(f"/customers/{customer_id}/edit").get_data(as_text=True)
    assert 'value="138 1234 5678"' in edit


def test_contact_form_validates_phones(client, login, seed):
    customer = seed.customer()
    login("admin")
    response = client.post(f"/customers/{customer.id}/contacts", data={
        "contact-name": "李雷", "contact-mobile": "1391234567", "contact-phone": "87654321"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert MOBILE_11 in body and AREA_CODE in body
    ok = client.post(f"/customers/{customer.id}/contacts", data={
        "contact-name": "李雷", "contact-mobile": "13912345678", "contact-phone": "021-87654321"})
    assert ok.status_code == 303
    from crm.customers.models import Contact
    contact = seed.run(lambda: Contact.get(Contact.customer == customer.id))
    assert (contact.mobile, contact.phone) == ("+8613912345678", "+862187654321")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "139 1234 5678" in page and "021 8765 4321" in page
