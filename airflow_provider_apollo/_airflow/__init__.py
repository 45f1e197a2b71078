"""Airflow glue shared by the operators, sensors and triggers: template rendering checks and
usage metrics.

Private: import the operators and sensors instead.
"""
