from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "sekispe.onboarding"
    verbose_name = "登録セキスペへの一斉案内"
