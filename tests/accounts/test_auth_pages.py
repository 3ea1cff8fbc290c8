import re

from django.core import mail
from django.urls import reverse


def test_login_page_offers_a_sign_in_code(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert "Email me a sign-in code" in page and reverse("account_request_login_code") in page
    assert "/static/css/app.css" in page and "/static/vendor/htmx/htmx.min.js" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing loaded from another host


def test_sign_in_by_emailed_code(client, owner):
    response = client.post(reverse("account_request_login_code"), {"email": owner.user.email})
    assert response.status_code == 302 and response.url == reverse("account_confirm_login_code")
    confirm = client.get(response.url)
    assert confirm.status_code == 200 and "Check your email" in confirm.content.decode()
    body = mail.outbox[-1].body
    code = body.split("Please enter it in your open browser window.")[1].strip().split()[0]
    signed_in = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert signed_in.status_code == 302 and signed_in.url == reverse("dashboard:home")
    assert client.get(reverse("dashboard:home")).status_code == 200


def test_signup_leads_to_onboarding(client, db):
    page = client.get(reverse("account_signup"))
    assert page.status_code == 200 and "Create your RevKeen account" in page.content.decode()
    response = client.post(reverse("account_signup"), {"email": "new@founder.example", "password1": "long-enough-pass"})
    assert response.status_code == 302 and response.url == reverse("onboarding")


def test_signup_errors_render_on_our_form(client, db):
    response = client.post(reverse("account_signup"), {"email": "nope", "password1": "short"})
    content = response.content.decode()
    assert response.status_code == 200 and 'class="field-error"' in content


def test_logout_is_a_post_from_the_user_menu(owner_client):
    page = owner_client.get(reverse("dashboard:home")).content.decode()
    assert f'action="{reverse("account_logout")}"' in page
    response = owner_client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("dashboard:home")).status_code == 302


def test_other_allauth_pages_use_our_layout(client, db):
    page = client.get(reverse("account_reset_password"))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'class="auth-card"' in content and "btn btn-primary" in content
