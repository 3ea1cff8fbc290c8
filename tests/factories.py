import factory

from apps.accounts import services as account_services
from apps.accounts.models import Merchant, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_merchant(*, name: str = "Acme Ltd", owner: User | None = None, live_enabled: bool = True, **extra) -> Merchant:
    owner = owner or UserFactory()
    merchant = account_services.merchant_create(owner=owner, name=name, country=extra.pop("country", "GB"),
                                                timezone=extra.pop("timezone", "Europe/London"),
                                                settlement_currency=extra.pop("settlement_currency", "GBP"), **extra)
    if live_enabled:
        Merchant.objects.filter(pk=merchant.pk).update(live_enabled=True)
        merchant.live_enabled = True
    return merchant


def make_api_key(merchant: Merchant, *, livemode: bool = False, name: str = "test key") -> str:
    _, secret = account_services.api_key_create(merchant=merchant, livemode=livemode, name=name)
    return secret
