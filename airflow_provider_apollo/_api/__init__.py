"""What Apollo's API is, as pure knowledge: endpoints and their limits, search filters, record
identity, task fields and owners, timestamps, phone numbers, e-mail addresses and webhooks.

Private: shared by the hooks, operators, sensors, triggers and the sandbox. No I/O and no Airflow
import happen here, so every module can be unit-tested alone and imported at DAG-parse time.
"""
