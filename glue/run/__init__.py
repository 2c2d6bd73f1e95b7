"""Running the sync: ``cycle`` (the :class:`Cycle` of steps shared by both modes, the one
dispatcher ``step``, and `mockbook run`'s one cycle under its lease), ``worker`` (the
long-running `mockbook worker`), ``status`` (`mockbook status`: queue, lag, errors, metrics).
"""
