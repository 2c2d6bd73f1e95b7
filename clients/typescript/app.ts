// The calls docs/apps.md shows, written against the generated types: `tsc --noEmit` in this
// folder compiles them (tests/py/project/test_typescript_client.py runs it in make test).
import { createClient } from '@supabase/supabase-js'
import { SignJWT } from 'jose'

import {
  type Database,
  mockbookCall,
  mockbookError,
  type MockbookErrorCode,
} from './mockbook.types'
import {
  type BookingMessage,
  type CreditsMessage,
  examTopic,
  type RefreshMessage,
  type SeatsMessage,
  studentTopic,
  type WaitlistMessage,
} from './realtime.types'

export function connect(url: string, serviceRoleKey: string) {
  return createClient<Database>(url, serviceRoleKey, {
    db: { schema: 'hubspot_sync' },
    auth: { persistSession: false },
  })
}

type Client = ReturnType<typeof connect>

// Acting for a student: the server signs a short-lived JWT per request carrying what the
// functions read from request.jwt.claims: `role` service_role (the only role that may call),
// the student's `email` (their contact's, any case), the user's id as `sub`, and no admin role.
// Signed with a key the project's API verifies (the JWT secret, or an imported signing key).
export function studentToken(jwtSecret: string, student: { userId: string; email: string }) {
  return new SignJWT({ role: 'service_role', email: student.email })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(student.userId)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(new TextEncoder().encode(jwtSecret))
}

export function asStudent(url: string, apiKey: string, token: string) {
  return createClient<Database>(url, apiKey, {
    db: { schema: 'hubspot_sync' },
    auth: { persistSession: false },
    global: { headers: { Authorization: `Bearer ${token}` } },
  })
}

// A student's own bookings, as that student: another student's id is FORBIDDEN.
export async function myBookings(url: string, apiKey: string, jwtSecret: string,
                                 student: { userId: string; email: string; studentId: string }) {
  const supabase = asStudent(url, apiKey, await studentToken(jwtSecret, student))
  const { data, error } = await mockbookCall(
    supabase.rpc('list_contact_bookings', { p_student_id: student.studentId }),
  )
  if (error) return { httpStatus: error.status, code: error.message }
  return { httpStatus: 200, bookings: data }
}

export type BookingRequest = {
  studentId: string
  email: string
  examId: string
  idempotencyKey: string
  location?: string
}

// One key per user action, reused when the same request is sent again: the booking is then
// replayed (`idempotent_replay: true`), never made or charged twice.
export async function createBooking(supabase: Client, req: BookingRequest, attempt = 1) {
  // error: null, or a mockbook error (code 'PT409', message 'EXAM_FULL'); anything else
  // (PGRST..., 42501, network: a bug or a setup problem) is thrown
  const { data, error } = await mockbookCall(
    supabase.rpc('create_booking', {
      p_student_id: req.studentId,
      p_email: req.email,
      p_mock_exam_id: req.examId,
      p_idempotency_key: req.idempotencyKey,
      p_attending_location: req.location,
    }),
  )
  if (!error) {
    return { httpStatus: 201, bookingCode: data.booking_id, replay: data.idempotent_replay }
  }
  if (error.message === 'BUSY' && attempt < 3) {
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt))
    return createBooking(supabase, req, attempt + 1) // same key: safe
  }
  return { httpStatus: error.status, code: error.message, message: error.details }
}

export async function cancel(supabase: Client, bookingId: string, studentId: string, key: string) {
  const { data, error } = await supabase.rpc('cancel_booking', {
    p_booking_id: bookingId,
    p_student_id: studentId,
    p_idempotency_key: key,
  })
  if (error) throw error
  return { status: data.status, creditsRemaining: data.credits_remaining }
}

export async function rebook(supabase: Client, bookingId: string, newExamId: string, key: string) {
  const { data, error } = await supabase.rpc('rebook', {
    p_booking_id: bookingId,
    p_new_mock_exam_id: newExamId,
    p_idempotency_key: key,
  })
  if (error) throw error
  return { from: data.rebooked_from.booking_id, to: data.booking_id }
}

export async function waitlist(supabase: Client, studentId: string, email: string, examId: string) {
  const joined = await supabase.rpc('join_waitlist', {
    p_student_id: studentId,
    p_email: email,
    p_mock_exam_id: examId,
    p_dominant_hand: 'Right',
  })
  if (joined.error) {
    // a free seat: book it instead
    if (mockbookError(joined.error)?.code === 'EXAM_NOT_FULL') return null
    throw joined.error
  }
  const position = joined.data.position
  const accepted = await supabase.rpc('accept_offer', {
    p_student_id: studentId,
    p_email: email,
    p_mock_exam_id: examId,
  })
  if (!accepted.error) return { position, booking: accepted.data.booking_id }
  const left = await supabase.rpc('leave_waitlist', { p_student_id: studentId, p_mock_exam_id: examId })
  if (left.error) throw left.error
  return { position, left: left.data.left }
}

// Reads return rows: PostgREST filters and .single() work on them. A column that can be null
// is typed `| null` (rpc.md says which, per function).
export async function reads(supabase: Client, studentId: string, email: string) {
  const { data: summary, error } = await supabase
    .rpc('get_credit_summary', { p_student_id: studentId, p_email: email })
    .single()
  if (error) throw error
  const { data: exams } = await supabase
    .rpc('list_available_exams', { p_mock_type: 'Clinical Skills' })
    .gt('remaining_seats', 0)
  const { data: bookings } = await supabase.rpc('list_contact_bookings', {
    p_student_id: studentId,
    p_status: 'Active',
  })
  const credits: number = summary.sj_credits + summary.shared_mock_credits
  const name = `${summary.firstname ?? ''} ${summary.lastname ?? ''}`.trim() || summary.email
  const seats: number[] = (exams ?? []).map((exam) => exam.remaining_seats)
  const codes: string[] = (bookings ?? []).flatMap((booking) => booking.booking_id ?? [])
  return { credits, name, seats, codes }
}

// Switch on the code; the union is every code mockbook raises.
export function answer(code: MockbookErrorCode): number {
  switch (code) {
    case 'EXAM_FULL':
    case 'DUPLICATE_BOOKING':
      return 409
    case 'INSUFFICIENT_CREDITS':
      return 402
    case 'BUSY':
      return 503
    default:
      return 400
  }
}

// ---- Live pages (docs/apps.md, Live pages): Supabase Realtime ---------------------------------

// A live booking page, in the browser: the project's anon key and the signed-in student's own
// session (never the service key), a private channel on the exam's topic. mockbook's policies on
// realtime.messages let any signed-in user listen to an exam's seats; setAuth hands the user's
// JWT to Realtime, which checks it when the channel joins.
export async function watchSeats(url: string, anonKey: string, accessToken: string,
                                 examId: string, show: (seats: SeatsMessage) => void) {
  const browser = createClient(url, anonKey)
  await browser.realtime.setAuth(accessToken)
  return browser
    .channel(examTopic(examId), { config: { private: true } })
    .on<SeatsMessage>('broadcast', { event: 'seats' }, ({ payload }) => {
      show(payload) // payload.remaining_seats, payload.is_full, payload.reason (null: open)
    })
    .on<RefreshMessage>('broadcast', { event: 'refresh' }, ({ payload }) => {
      if (payload.outcome !== 'applied') console.warn(payload.outcome, payload.detail)
    })
    .subscribe()
}

// The student's own page: their bookings, balances and waitlist offers, on their own topic.
export async function watchMyThings(url: string, anonKey: string, accessToken: string,
                                    email: string) {
  const browser = createClient(url, anonKey)
  await browser.realtime.setAuth(accessToken)
  const seen: { credits?: number; offers: string[] } = { offers: [] }
  const channel = browser
    .channel(studentTopic(email), { config: { private: true } })
    .on<BookingMessage>('broadcast', { event: 'booking' }, ({ payload }) => {
      seen.credits = payload.credits.sj_credits + payload.credits.shared_mock_credits
    })
    .on<CreditsMessage>('broadcast', { event: 'credits' }, ({ payload }) => {
      seen.credits = payload.credits.sj_credits + payload.credits.shared_mock_credits
    })
    .on<WaitlistMessage>('broadcast', { event: 'waitlist' }, ({ payload }) => {
      if (payload.waitlist.status === 'offered') seen.offers.push(payload.waitlist.mock_exam_id)
    })
    .subscribe()
  return { channel, seen }
}

// The Refresh button: the app's server asks for the exam to be read from HubSpot now (as the
// admin, whose JWT it forwards, or with the service key); the outcome comes on the exam's topic
// (event 'refresh', this request_id) to every page watching it. A second click while it waits
// answers the same request; more than 10 a minute from one caller is REFRESH_LIMIT_REACHED (429).
export async function refreshExam(supabase: Client, examId: string) {
  const { data, error } = await mockbookCall(
    supabase.rpc('request_refresh', { p_mock_exam_id: examId }),
  )
  if (error) return { httpStatus: error.status, code: error.message }
  return { httpStatus: 202, requestId: data.request_id, topic: data.topic }
}
