"""How a request travels to Apollo: the connection's settings, retries, pacing by Apollo's quota
headers, the quota store shared by processes, the credit budget and the page walk.

Private: used by :mod:`airflow_provider_apollo.hooks` only. Nothing here imports Airflow's task
machinery or the operators; import the hooks instead.
"""
