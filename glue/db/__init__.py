"""The glue's one seam to the database: ``database`` (the pooled :class:`Database` whose methods
call the SQL functions by name), the other SQL of the glue by area (``pull``, ``cache``,
``status``, ``runs``), and the schema tooling (``migrations``, ``revision``, ``source``,
``embedded``, ``adoption``) and ``postgrest`` (the settings of a PostgREST-style call). No
other glue module holds SQL but the demo's.
"""
