"""Running the sync: ``cycle`` (the :class:`Cycle` of steps shared by both modes and the one
dispatcher ``step``), ``worker`` (`mockbook run` once under an advisory lock, and the
long-running `mockbook worker`), ``status`` (`mockbook status`: queue, lag, errors, metrics).
"""
