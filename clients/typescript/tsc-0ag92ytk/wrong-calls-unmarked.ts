// Calls the compiler must refuse. Each `// @ts-expect-error TSnnnn: <what>` marks the line below it as
// wrong: tsc fails if that line compiles (an unused directive is an error), and
// tests/py/project/test_typescript_client.py compiles a copy without the directives and checks
// that each marked line, and no other, is reported with error TSnnnn.
import type { connect } from '../app'
import type { CreateBookingResult, MockbookErrorCode } from '../mockbook.types'

export async function wrongCalls(supabase: ReturnType<typeof connect>) {
  // refused: an unknown function
  await supabase.rpc('create_bookings', { p_student_id: 'A1' })

  await supabase.rpc('create_booking', {
    p_student_id: 'A1',
    p_email: 'a@example.com',
    // refused: a misspelt argument (p_mock_exam_id)
    p_exam_id: '123',
    p_idempotency_key: 'k',
  })

  // refused: a required argument missing (p_idempotency_key)
  await supabase.rpc('create_booking', {
    p_student_id: 'A1',
    p_email: 'a@example.com',
    p_mock_exam_id: '123',
  })

  await supabase.rpc('adjust_credits', {
    p_student_id: 'A1',
    p_credit_field: 'sj_credits',
    // refused: a wrong type (p_delta is an integer)
    p_delta: '2',
    p_reason: 'goodwill',
    p_actor: 'admin:ann@example.com',
  })

  const { data } = await supabase.rpc('cancel_booking', { p_booking_id: 'BK-20260101-ABCDEF' })
  // refused: a key cancel_booking's result does not have
  console.log(data?.credits_restord)

  const code = (booked: CreateBookingResult) =>
    // refused: a key create_booking's result does not have
    booked.booking_code
  console.log(code)

  // refused: an error code mockbook does not raise
  const answer: MockbookErrorCode = 'SOLD_OUT'
  return answer
}
