"""Control descriptions per UI language (django-modeltranslation)."""

from modeltranslation.translator import TranslationOptions, register

from controls.models import TreasuryControl


@register(TreasuryControl)
class TreasuryControlTranslation(TranslationOptions):
    fields = ("description",)
