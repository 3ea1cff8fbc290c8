from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("onboarding/", views.onboarding, name="onboarding"),
    path("onboarding/<slug:step>/", views.onboarding_step, name="onboarding_step"),
    path("invite/<str:token>/", views.invite_accept, name="invite_accept"),
]

# Mounted under /dashboard/ in the "dashboard" namespace by revkeen/urls.py.
dashboard_urlpatterns = [
    path("", views.dashboard_home, name="home"),
    path("mode/", views.mode_switch, name="mode_switch"),
    path("merchant/", views.merchant_switch, name="merchant_switch"),
    path("developers/api-keys/", views.api_keys, name="api_keys"),
    path("developers/api-keys/<str:api_key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("settings/business/", views.settings_business, name="settings_business"),
    path("settings/branding/", views.settings_branding, name="settings_branding"),
    path("settings/team/", views.team, name="team"),
    path("settings/team/invite/", views.team_invite, name="team_invite"),
    path("settings/team/invitations/<str:invitation_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("settings/team/invitations/<str:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("settings/team/members/<str:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/team/members/<str:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("settings/team/members/<str:membership_id>/suspend/", views.member_suspend, name="member_suspend"),
    path("settings/team/members/<str:membership_id>/reactivate/", views.member_reactivate, name="member_reactivate"),
]
