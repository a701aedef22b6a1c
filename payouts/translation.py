"""Stored human text of the rails, per UI language (django-modeltranslation):
``name_en`` / ``name_fr`` beside ``name``; reading ``name`` gives the active
language's, falling back to English (settings.MODELTRANSLATION_*)."""

from modeltranslation.translator import TranslationOptions, register

from payouts.models import BankProfile


@register(BankProfile)
class BankProfileTranslation(TranslationOptions):
    fields = ("name",)
