// The messages mockbook sends through Supabase Realtime (docs/apps.md, Live pages): each topic,
// each event and its payload. Written by hand from the database's broadcast triggers
// (db/triggers/broadcast.sql); tests/py/project/test_typescript_client.py checks every key of
// every payload against real messages, both ways.

/** An exam's topic: its seats. */
export const examTopic = (examId: string) => `mockbook:exam:${examId}`
/** A student's own topic: their email as mockbook compares it (lower case, no spaces at the ends). */
export const studentTopic = (email: string) => `mockbook:student:${email.trim().toLowerCase()}`
/** The admins' topic: every refresh request's outcome. */
export const adminTopic = 'mockbook:admin'

/** The message's own id (a uuid) in every payload, as Supabase's realtime.send adds it. */
type Sent = { id: string }

export type CreditBalances = {
  sj_credits: number
  cs_credits: number
  sjmini_credits: number
  mock_discussion_token: number
  shared_mock_credits: number
}

/** `seats` on an exam's topic: one message per transaction that changed its seats, at its commit,
 * counted as list_available_exams counts them. */
export type SeatsMessage = Sent & {
  mock_exam_id: string
  capacity: number
  total_bookings: number
  held_seats: number
  remaining_seats: number
  is_full: boolean
  waiting: number
  /** null: bookable now; else the error create_booking would answer */
  reason: 'EXAM_NOT_ACTIVE' | 'EXAM_IN_PAST' | null
  /** when the first seat held by a waitlist offer comes free, if no one takes it */
  next_offer_expires_at: string | null
}

/** `booking` on a student's topic: a booking of theirs was made or changed. */
export type BookingMessage = Sent & {
  student_id: string
  booking: {
    id: string
    booking_id: string | null
    mock_exam_id: string | null
    status: string | null
    attendance: string | null
    mock_type: string | null
    exam_date: string | null
    start_time: string | null
    end_time: string | null
  }
  credits: CreditBalances
}

/** `credits` on a student's topic: their balances changed outside a booking. */
export type CreditsMessage = Sent & {
  student_id: string
  credits: CreditBalances
}

/** `waitlist` on a student's topic: one of their waitlist places changed (an offer made, …). */
export type WaitlistMessage = Sent & {
  student_id: string
  waitlist: {
    waitlist_id: number
    mock_exam_id: string
    status: 'waiting' | 'offered' | 'accepted' | 'expired' | 'left' | 'closed'
    offer_expires_at: string | null
  }
}

export type RefreshOutcome =
  | 'applied'
  | 'gone'
  | 'not_in_hubspot'
  | 'rejected'
  | 'busy'
  | 'hubspot_unavailable'
  | 'rate_limited'
  | 'failed'

/** `refresh` on the record's topic and the admins': a request_refresh's outcome. */
export type RefreshMessage = Sent & {
  request_id: number
  record_type: 'exam' | 'student' | 'booking'
  record_key: string
  hubspot_id: string | null
  outcome: RefreshOutcome
  detail: string | null
  requested_at: string
  finished_at: string
}

/** Each event of each kind of topic, and its payload. */
export type ExamTopicEvents = { seats: SeatsMessage; refresh: RefreshMessage }
export type StudentTopicEvents = {
  booking: BookingMessage
  credits: CreditsMessage
  waitlist: WaitlistMessage
  refresh: RefreshMessage
}
export type AdminTopicEvents = { refresh: RefreshMessage }
