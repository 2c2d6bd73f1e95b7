// Calls the compiler must refuse. Each `// @ts-expect-error TSnnnn: <what>` marks the line below it as
// wrong: tsc fails if that line compiles (an unused directive is an error), and
// tests/py/project/test_typescript_client.py compiles a copy without the directives and checks
// that each marked line, and no other, is reported with error TSnnnn.
import type { connect } from './app'
import {
  type CreateBookingResult,
  mockbookCall,
  type MockbookErrorCode,
  type GetCreditSummaryRow,
} from './mockbook.types'

export async function wrongCalls(supabase: ReturnType<typeof connect>) {
  // @ts-expect-error TS2345: an unknown function
  await supabase.rpc('create_bookings', { p_student_id: 'A1' })

  await supabase.rpc('create_booking', {
    p_student_id: 'A1',
    p_email: 'a@example.com',
    // @ts-expect-error TS2353: a misspelt argument (p_mock_exam_id)
    p_exam_id: '123',
    p_idempotency_key: 'k',
  })

  // @ts-expect-error TS2345: a required argument missing (p_idempotency_key)
  await supabase.rpc('create_booking', {
    p_student_id: 'A1',
    p_email: 'a@example.com',
    p_mock_exam_id: '123',
  })

  await supabase.rpc('adjust_credits', {
    p_student_id: 'A1',
    p_credit_field: 'sj_credits',
    // @ts-expect-error TS2322: a wrong type (p_delta is an integer)
    p_delta: '2',
    p_reason: 'goodwill',
    p_actor: 'admin:ann@example.com',
  })

  const { data } = await supabase.rpc('cancel_booking', { p_booking_id: 'BK-20260101-ABCDEF' })
  // @ts-expect-error TS2551: a key cancel_booking's result does not have
  console.log(data?.credits_restord)

  const code = (booked: CreateBookingResult) =>
    // @ts-expect-error TS2551: a key create_booking's result does not have
    booked.booking_code
  console.log(code)

  // @ts-expect-error TS2322: an error code mockbook does not raise
  const answer: MockbookErrorCode = 'SOLD_OUT'

  const { error } = await mockbookCall(
    supabase.rpc('create_booking', {
      p_student_id: 'A1',
      p_email: 'a@example.com',
      p_mock_exam_id: '123',
      p_idempotency_key: 'k',
    }),
  )
  // @ts-expect-error TS2367: an error code compared with the SQLSTATE (it is in `message`)
  if (error?.code === 'EXAM_FULL') return answer
  // @ts-expect-error TS2367: a SQLSTATE compared with the error code (it is in `code`)
  if (error?.message === 'PT409') return answer

  const { data: summary } = await supabase
    .rpc('get_credit_summary', { p_student_id: 'A1', p_email: 'a@example.com' })
    .single()
  // @ts-expect-error TS18047: a column that can be null (a contact without a HubSpot id)
  console.log(summary!.hubspot_id.toUpperCase())
  const { data: bookings } = await supabase.rpc('list_contact_bookings', { p_student_id: 'A1' })
  // @ts-expect-error TS2322: a column that can be null (a waitlist place, a legacy booking)
  const codes: string[] = (bookings ?? []).map((booking) => booking.booking_id)
  const row = (summary: GetCreditSummaryRow) =>
    // @ts-expect-error TS18047: a row type's column that can be null
    summary.lastname.length
  console.log(codes, row)
  return answer
}
