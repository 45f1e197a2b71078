"""Transfers: operators that move data between Apollo and other systems (Airflow's convention)."""
