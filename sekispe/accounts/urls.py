from django.urls import path

from sekispe.accounts import views, views_claim

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("logout-everywhere/", views.logout_everywhere, name="logout_everywhere"),
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_sent, name="signup_sent"),
    path("verify/<uidb64>/<token>/", views.verify_email, name="verify_email"),
    path("claim/", views_claim.claim_page, name="claim"),
    path("claim/sent/", views_claim.claim_sent, name="claim_sent"),
    path("claim/contact-change/", views_claim.contact_change, name="claim_contact_change"),
    path(
        "claim/contact-change/sent/",
        views_claim.contact_change_sent,
        name="claim_contact_change_sent",
    ),
    path("invitation/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/done/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    # create_institution_account e-mails this exact path.
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password-change/", views.password_change, name="password_change"),
    path("password-change/done/", views.password_change_done, name="password_change_done"),
]
