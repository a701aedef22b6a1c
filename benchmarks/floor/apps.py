from django.apps import AppConfig


class FloorConfig(AppConfig):
    name = "benchmarks.floor"
    label = "bench_floor"
    verbose_name = "Benchmark floors"
    default_auto_field = "django.db.models.BigAutoField"
