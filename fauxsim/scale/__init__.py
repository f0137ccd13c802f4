"""Runs of several shards (#20): each shard a job, run in local processes or on Dask.

``jobs`` says what one shard's job is and runs it (into a partitioned file dataset);
``local`` runs jobs in worker processes of this machine, ``on_dask`` on a Dask cluster.
The output never depends on where or in how many workers the jobs ran.
"""
