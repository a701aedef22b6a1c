"""Suggestion texts per UI language (django-modeltranslation): ``title_en`` /
``title_fr`` and ``description_en`` / ``description_fr`` beside the original
columns. SIRA's text is stored as the default language's (it falls back for
the others); the local heuristics fill every language from the catalogues
(``plans.services.suggestion_candidates``)."""

from modeltranslation.translator import TranslationOptions, register

from plans.models import Suggestion


@register(Suggestion)
class SuggestionTranslation(TranslationOptions):
    fields = ("title", "description")
