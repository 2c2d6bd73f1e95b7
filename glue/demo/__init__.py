"""`mockbook demo`: ``story`` (the command: the steps in order, what it prints), ``data`` (sample
exams and students, the reset, the checks, the push to the sandbox, the dashboard's queries),
``rush`` (the booking rush: PostgREST-style calls from a thread pool).
"""
