from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    """After login, people with no merchant yet (a fresh sign-up) go to onboarding."""

    def get_login_redirect_url(self, request):
        from .models import Membership

        user = request.user
        if user.is_authenticated and not Membership.objects.filter(user=user).exists():
            return reverse("onboarding")
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request):
        return reverse("onboarding")
