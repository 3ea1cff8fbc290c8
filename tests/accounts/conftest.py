import pytest

from tests.factories import make_member, make_merchant, owner_membership


@pytest.fixture
def shop(db):
    """A merchant that has not been approved for live payments yet (the usual new account)."""
    return make_merchant(name="Acme Ltd", live_enabled=False)


@pytest.fixture
def owner(shop):
    return owner_membership(shop)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner.user)
    return client


@pytest.fixture
def member_client(client, shop):
    """Logs a new member of `shop` with the given role into the test client; returns the membership."""

    def login(role: str, **extra):
        membership = make_member(shop, role=role, **extra)
        client.force_login(membership.user)
        return membership

    return login
