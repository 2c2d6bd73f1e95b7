export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  hubspot_sync: {
    Tables: {
      adoption_report: {
        Row: {
          action: string
          created_at: string
          id: number
          new_value: string | null
          object: string
          old_value: string | null
          record_id: string | null
          revision: string
        }
        Insert: {
          action: string
          created_at?: string
          id?: number
          new_value?: string | null
          object: string
          old_value?: string | null
          record_id?: string | null
          revision: string
        }
        Update: {
          action?: string
          created_at?: string
          id?: number
          new_value?: string | null
          object?: string
          old_value?: string | null
          record_id?: string | null
          revision?: string
        }
        Relationships: []
      }
      audit_log: {
        Row: {
          changed_fields: string[] | null
          id: string
          new_values: Json | null
          old_values: Json | null
          operation: string
          performed_at: string | null
          performed_by: string | null
          record_id: string | null
          table_name: string
        }
        Insert: {
          changed_fields?: string[] | null
          id?: string
          new_values?: Json | null
          old_values?: Json | null
          operation: string
          performed_at?: string | null
          performed_by?: string | null
          record_id?: string | null
          table_name: string
        }
        Update: {
          changed_fields?: string[] | null
          id?: string
          new_values?: Json | null
          old_values?: Json | null
          operation?: string
          performed_at?: string | null
          performed_by?: string | null
          record_id?: string | null
          table_name?: string
        }
        Relationships: []
      }
      booking_conflicts: {
        Row: {
          booking_id: string
          detail: string
          detected_at: string
          id: number
          mock_exam_id: string
          resolved_at: string | null
          rule: string
        }
        Insert: {
          booking_id: string
          detail: string
          detected_at?: string
          id?: number
          mock_exam_id: string
          resolved_at?: string | null
          rule: string
        }
        Update: {
          booking_id?: string
          detail?: string
          detected_at?: string
          id?: number
          mock_exam_id?: string
          resolved_at?: string | null
          rule?: string
        }
        Relationships: []
      }
      booking_rule_changes: {
        Row: {
          changed_at: string
          changed_by: string | null
          id: number
          new_value: NonNullable<Json>
          old_value: Json | null
          rule: string
        }
        Insert: {
          changed_at?: string
          changed_by?: string | null
          id?: number
          new_value: NonNullable<Json>
          old_value?: Json | null
          rule: string
        }
        Update: {
          changed_at?: string
          changed_by?: string | null
          id?: number
          new_value?: NonNullable<Json>
          old_value?: Json | null
          rule?: string
        }
        Relationships: []
      }
      booking_rules: {
        Row: {
          description: string
          rule: string
          updated_at: string
          updated_by: string | null
          value: NonNullable<Json>
        }
        Insert: {
          description: string
          rule: string
          updated_at?: string
          updated_by?: string | null
          value: NonNullable<Json>
        }
        Update: {
          description?: string
          rule?: string
          updated_at?: string
          updated_by?: string | null
          value?: NonNullable<Json>
        }
        Relationships: []
      }
      contact_credit_sync: {
        Row: {
          contact_id: string
          credits: NonNullable<Json>
          hubspot_modified_at: string | null
          pushing: Json | null
          pushing_at: string | null
          source: string
          updated_at: string
        }
        Insert: {
          contact_id: string
          credits?: NonNullable<Json>
          hubspot_modified_at?: string | null
          pushing?: Json | null
          pushing_at?: string | null
          source: string
          updated_at?: string
        }
        Update: {
          contact_id?: string
          credits?: NonNullable<Json>
          hubspot_modified_at?: string | null
          pushing?: Json | null
          pushing_at?: string | null
          source?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "contact_credit_sync_contact_id_fkey"
            columns: ["contact_id"]
            isOneToOne: true
            referencedRelation: "hubspot_contact_credits"
            referencedColumns: ["id"]
          },
        ]
      }
      credit_ledger: {
        Row: {
          actor: string | null
          balance_after: number
          booking_id: string | null
          contact_id: string
          created_at: string
          credit_field: string
          delta: number
          id: number
          note: string | null
          reason: string
          student_id: string
        }
        Insert: {
          actor?: string | null
          balance_after: number
          booking_id?: string | null
          contact_id: string
          created_at?: string
          credit_field: string
          delta: number
          id?: number
          note?: string | null
          reason: string
          student_id: string
        }
        Update: {
          actor?: string | null
          balance_after?: number
          booking_id?: string | null
          contact_id?: string
          created_at?: string
          credit_field?: string
          delta?: number
          id?: number
          note?: string | null
          reason?: string
          student_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "credit_ledger_contact_id_fkey"
            columns: ["contact_id"]
            isOneToOne: false
            referencedRelation: "hubspot_contact_credits"
            referencedColumns: ["id"]
          },
        ]
      }
      exam_hubspot_sync: {
        Row: {
          exam_id: string
          hubspot_modified_at: string
          updated_at: string
        }
        Insert: {
          exam_id: string
          hubspot_modified_at: string
          updated_at?: string
        }
        Update: {
          exam_id?: string
          hubspot_modified_at?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "exam_hubspot_sync_exam_id_fkey"
            columns: ["exam_id"]
            isOneToOne: true
            referencedRelation: "hubspot_mock_exams"
            referencedColumns: ["id"]
          },
        ]
      }
      groups: {
        Row: {
          created_at: string | null
          cycle: string | null
          end_date: string | null
          group_id: string
          group_name: string
          id: string
          location: string
          max_capacity: number | null
          phase: string | null
          start_date: string
          status: string | null
          time_period: string
          updated_at: string | null
        }
        Insert: {
          created_at?: string | null
          cycle?: string | null
          end_date?: string | null
          group_id: string
          group_name: string
          id?: string
          location?: string
          max_capacity?: number | null
          phase?: string | null
          start_date: string
          status?: string | null
          time_period: string
          updated_at?: string | null
        }
        Update: {
          created_at?: string | null
          cycle?: string | null
          end_date?: string | null
          group_id?: string
          group_name?: string
          id?: string
          location?: string
          max_capacity?: number | null
          phase?: string | null
          start_date?: string
          status?: string | null
          time_period?: string
          updated_at?: string | null
        }
        Relationships: []
      }
      groups_instructors: {
        Row: {
          assigned_date: string
          created_at: string
          group_id: string
          id: string
          instructor_id: string
          status: string
          updated_at: string
        }
        Insert: {
          assigned_date: string
          created_at?: string
          group_id: string
          id?: string
          instructor_id: string
          status?: string
          updated_at?: string
        }
        Update: {
          assigned_date?: string
          created_at?: string
          group_id?: string
          id?: string
          instructor_id?: string
          status?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "groups_instructors_group_id_fkey"
            columns: ["group_id"]
            isOneToOne: false
            referencedRelation: "groups"
            referencedColumns: ["group_id"]
          },
          {
            foreignKeyName: "groups_instructors_instructor_id_fkey"
            columns: ["instructor_id"]
            isOneToOne: false
            referencedRelation: "instructors"
            referencedColumns: ["id"]
          },
        ]
      }
      groups_students: {
        Row: {
          enrolled_at: string | null
          group_id: string
          id: string
          status: string | null
          student_id: string
          updated_at: string | null
        }
        Insert: {
          enrolled_at?: string | null
          group_id: string
          id?: string
          status?: string | null
          student_id: string
          updated_at?: string | null
        }
        Update: {
          enrolled_at?: string | null
          group_id?: string
          id?: string
          status?: string | null
          student_id?: string
          updated_at?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "groups_students_group_id_fkey"
            columns: ["group_id"]
            isOneToOne: false
            referencedRelation: "groups"
            referencedColumns: ["group_id"]
          },
          {
            foreignKeyName: "groups_students_student_id_fkey"
            columns: ["student_id"]
            isOneToOne: false
            referencedRelation: "hubspot_contact_credits"
            referencedColumns: ["student_id"]
          },
        ]
      }
      hubspot_bookings: {
        Row: {
          associated_contact_id: string | null
          associated_mock_exam: string | null
          attendance: string | null
          attending_location: string | null
          booking_id: string | null
          created_at: string | null
          dominant_hand: string | null
          end_time: string | null
          exam_date: string | null
          hubspot_id: string | null
          hubspot_last_sync_at: string | null
          id: string
          idempotency_fingerprint: string | null
          idempotency_key: string | null
          is_active: string | null
          legacy_booking_id: string | null
          legacy_issue: string | null
          mock_set: Database["hubspot_sync"]["Enums"]["mock_set_letter"] | null
          mock_type: string | null
          name: string | null
          ndecc_exam_date: string | null
          start_time: string | null
          student_email: string | null
          student_id: string | null
          synced_at: string | null
          token_refund_admin: string | null
          token_refunded: boolean | null
          token_refunded_at: string | null
          token_used: string | null
          updated_at: string | null
        }
        Insert: {
          associated_contact_id?: string | null
          associated_mock_exam?: string | null
          attendance?: string | null
          attending_location?: string | null
          booking_id?: string | null
          created_at?: string | null
          dominant_hand?: string | null
          end_time?: string | null
          exam_date?: string | null
          hubspot_id?: string | null
          hubspot_last_sync_at?: string | null
          id?: string
          idempotency_fingerprint?: string | null
          idempotency_key?: string | null
          is_active?: string | null
          legacy_booking_id?: string | null
          legacy_issue?: string | null
          mock_set?: Database["hubspot_sync"]["Enums"]["mock_set_letter"] | null
          mock_type?: string | null
          name?: string | null
          ndecc_exam_date?: string | null
          start_time?: string | null
          student_email?: string | null
          student_id?: string | null
          synced_at?: string | null
          token_refund_admin?: string | null
          token_refunded?: boolean | null
          token_refunded_at?: string | null
          token_used?: string | null
          updated_at?: string | null
        }
        Update: {
          associated_contact_id?: string | null
          associated_mock_exam?: string | null
          attendance?: string | null
          attending_location?: string | null
          booking_id?: string | null
          created_at?: string | null
          dominant_hand?: string | null
          end_time?: string | null
          exam_date?: string | null
          hubspot_id?: string | null
          hubspot_last_sync_at?: string | null
          id?: string
          idempotency_fingerprint?: string | null
          idempotency_key?: string | null
          is_active?: string | null
          legacy_booking_id?: string | null
          legacy_issue?: string | null
          mock_set?: Database["hubspot_sync"]["Enums"]["mock_set_letter"] | null
          mock_type?: string | null
          name?: string | null
          ndecc_exam_date?: string | null
          start_time?: string | null
          student_email?: string | null
          student_id?: string | null
          synced_at?: string | null
          token_refund_admin?: string | null
          token_refunded?: boolean | null
          token_refunded_at?: string | null
          token_used?: string | null
          updated_at?: string | null
        }
        Relationships: []
      }
      hubspot_contact_credits: {
        Row: {
          created_at: string | null
          cs_credits: number | null
          email: string
          firstname: string | null
          hubspot_id: string | null
          hubspot_last_sync_at: string | null
          id: string
          lastname: string | null
          mock_discussion_token: number | null
          ndecc_exam_date: string | null
          shared_mock_credits: number | null
          sj_credits: number | null
          sjmini_credits: number | null
          student_id: string
          synced_at: string | null
          updated_at: string | null
        }
        Insert: {
          created_at?: string | null
          cs_credits?: number | null
          email: string
          firstname?: string | null
          hubspot_id?: string | null
          hubspot_last_sync_at?: string | null
          id?: string
          lastname?: string | null
          mock_discussion_token?: number | null
          ndecc_exam_date?: string | null
          shared_mock_credits?: number | null
          sj_credits?: number | null
          sjmini_credits?: number | null
          student_id: string
          synced_at?: string | null
          updated_at?: string | null
        }
        Update: {
          created_at?: string | null
          cs_credits?: number | null
          email?: string
          firstname?: string | null
          hubspot_id?: string | null
          hubspot_last_sync_at?: string | null
          id?: string
          lastname?: string | null
          mock_discussion_token?: number | null
          ndecc_exam_date?: string | null
          shared_mock_credits?: number | null
          sj_credits?: number | null
          sjmini_credits?: number | null
          student_id?: string
          synced_at?: string | null
          updated_at?: string | null
        }
        Relationships: []
      }
      hubspot_mock_exams: {
        Row: {
          capacity: number | null
          created_at: string | null
          end_time: string | null
          exam_date: string | null
          exam_ends_at: string | null
          exam_starts_at: string | null
          hubspot_id: string
          hubspot_last_sync_at: string | null
          id: string
          is_active: string | null
          location: string | null
          mock_exam_name: string | null
          mock_set: Database["hubspot_sync"]["Enums"]["mock_set_letter"] | null
          mock_type: string | null
          prerequisite_exam_ids: string[] | null
          scheduled_activation_datetime: string | null
          start_time: string | null
          synced_at: string | null
          time_problem: string | null
          total_bookings: number | null
          updated_at: string | null
        }
        Insert: {
          capacity?: number | null
          created_at?: string | null
          end_time?: string | null
          exam_date?: string | null
          exam_ends_at?: string | null
          exam_starts_at?: string | null
          hubspot_id: string
          hubspot_last_sync_at?: string | null
          id?: string
          is_active?: string | null
          location?: string | null
          mock_exam_name?: string | null
          mock_set?: Database["hubspot_sync"]["Enums"]["mock_set_letter"] | null
          mock_type?: string | null
          prerequisite_exam_ids?: string[] | null
          scheduled_activation_datetime?: string | null
          start_time?: string | null
          synced_at?: string | null
          time_problem?: string | null
          total_bookings?: number | null
          updated_at?: string | null
        }
        Update: {
          capacity?: number | null
          created_at?: string | null
          end_time?: string | null
          exam_date?: string | null
          exam_ends_at?: string | null
          exam_starts_at?: string | null
          hubspot_id?: string
          hubspot_last_sync_at?: string | null
          id?: string
          is_active?: string | null
          location?: string | null
          mock_exam_name?: string | null
          mock_set?: Database["hubspot_sync"]["Enums"]["mock_set_letter"] | null
          mock_type?: string | null
          prerequisite_exam_ids?: string[] | null
          scheduled_activation_datetime?: string | null
          start_time?: string | null
          synced_at?: string | null
          time_problem?: string | null
          total_bookings?: number | null
          updated_at?: string | null
        }
        Relationships: []
      }
      idempotency_results: {
        Row: {
          created_at: string
          fingerprint: string
          function_name: string
          idempotency_key: string
          result: NonNullable<Json>
        }
        Insert: {
          created_at?: string
          fingerprint: string
          function_name: string
          idempotency_key: string
          result: NonNullable<Json>
        }
        Update: {
          created_at?: string
          fingerprint?: string
          function_name?: string
          idempotency_key?: string
          result?: NonNullable<Json>
        }
        Relationships: []
      }
      instructors: {
        Row: {
          auth_user_id: string | null
          created_at: string | null
          email: string
          id: string
          instructor_name: string
          is_active: boolean | null
          updated_at: string | null
        }
        Insert: {
          auth_user_id?: string | null
          created_at?: string | null
          email: string
          id?: string
          instructor_name: string
          is_active?: boolean | null
          updated_at?: string | null
        }
        Update: {
          auth_user_id?: string | null
          created_at?: string | null
          email?: string
          id?: string
          instructor_name?: string
          is_active?: boolean | null
          updated_at?: string | null
        }
        Relationships: []
      }
      refresh_requests: {
        Row: {
          attempts: number
          detail: string | null
          finished_at: string | null
          hubspot_id: string | null
          id: number
          lease_owner: string | null
          leased_until: string | null
          outcome: string | null
          record_key: string
          record_type: string
          requested_at: string
          requested_by: string
        }
        Insert: {
          attempts?: number
          detail?: string | null
          finished_at?: string | null
          hubspot_id?: string | null
          id?: number
          lease_owner?: string | null
          leased_until?: string | null
          outcome?: string | null
          record_key: string
          record_type: string
          requested_at?: string
          requested_by: string
        }
        Update: {
          attempts?: number
          detail?: string | null
          finished_at?: string | null
          hubspot_id?: string | null
          id?: number
          lease_owner?: string | null
          leased_until?: string | null
          outcome?: string | null
          record_key?: string
          record_type?: string
          requested_at?: string
          requested_by?: string
        }
        Relationships: []
      }
      supabase_audit_log: {
        Row: {
          changed_fields: Json | null
          id: number
          new_values: Json | null
          note_waits: boolean
          old_values: Json | null
          operation: string
          performed_at: string | null
          performed_by: string | null
          record_hubspot_id: string | null
          record_id: string
          synced_to_hubspot_at: string | null
          table_name: string
        }
        Insert: {
          changed_fields?: Json | null
          id?: number
          new_values?: Json | null
          note_waits?: boolean
          old_values?: Json | null
          operation: string
          performed_at?: string | null
          performed_by?: string | null
          record_hubspot_id?: string | null
          record_id: string
          synced_to_hubspot_at?: string | null
          table_name: string
        }
        Update: {
          changed_fields?: Json | null
          id?: number
          new_values?: Json | null
          note_waits?: boolean
          old_values?: Json | null
          operation?: string
          performed_at?: string | null
          performed_by?: string | null
          record_hubspot_id?: string | null
          record_id?: string
          synced_to_hubspot_at?: string | null
          table_name?: string
        }
        Relationships: []
      }
      sync_errors: {
        Row: {
          attempts: number
          created_at: string
          direction: string
          entity_id: string | null
          entity_type: string
          error: string
          id: number
          last_failed_at: string
          operation: string | null
          payload: Json | null
          queue_id: number | null
          resolution: string | null
          resolved: boolean
          resolved_at: string | null
          resolved_by: string | null
        }
        Insert: {
          attempts?: number
          created_at?: string
          direction: string
          entity_id?: string | null
          entity_type: string
          error: string
          id?: number
          last_failed_at?: string
          operation?: string | null
          payload?: Json | null
          queue_id?: number | null
          resolution?: string | null
          resolved?: boolean
          resolved_at?: string | null
          resolved_by?: string | null
        }
        Update: {
          attempts?: number
          created_at?: string
          direction?: string
          entity_id?: string | null
          entity_type?: string
          error?: string
          id?: number
          last_failed_at?: string
          operation?: string | null
          payload?: Json | null
          queue_id?: number | null
          resolution?: string | null
          resolved?: boolean
          resolved_at?: string | null
          resolved_by?: string | null
        }
        Relationships: []
      }
      sync_metadata: {
        Row: {
          created_at: string | null
          cursor: NonNullable<Json>
          error_message: string | null
          id: string
          last_sync_status: string | null
          last_sync_timestamp: string | null
          records_synced: number | null
          sync_type: string
          updated_at: string | null
        }
        Insert: {
          created_at?: string | null
          cursor?: NonNullable<Json>
          error_message?: string | null
          id?: string
          last_sync_status?: string | null
          last_sync_timestamp?: string | null
          records_synced?: number | null
          sync_type: string
          updated_at?: string | null
        }
        Update: {
          created_at?: string | null
          cursor?: NonNullable<Json>
          error_message?: string | null
          id?: string
          last_sync_status?: string | null
          last_sync_timestamp?: string | null
          records_synced?: number | null
          sync_type?: string
          updated_at?: string | null
        }
        Relationships: []
      }
      sync_queue: {
        Row: {
          attempts: number
          created_at: string
          dead_at: string | null
          done_at: string | null
          id: number
          last_error: string | null
          lease_expires_at: string | null
          lease_owner: string | null
          new_data: Json | null
          next_attempt_at: string
          old_data: Json | null
          operation: string
          record_id: string
          table_name: string
        }
        Insert: {
          attempts?: number
          created_at?: string
          dead_at?: string | null
          done_at?: string | null
          id?: number
          last_error?: string | null
          lease_expires_at?: string | null
          lease_owner?: string | null
          new_data?: Json | null
          next_attempt_at?: string
          old_data?: Json | null
          operation: string
          record_id: string
          table_name: string
        }
        Update: {
          attempts?: number
          created_at?: string
          dead_at?: string | null
          done_at?: string | null
          id?: number
          last_error?: string | null
          lease_expires_at?: string | null
          lease_owner?: string | null
          new_data?: Json | null
          next_attempt_at?: string
          old_data?: Json | null
          operation?: string
          record_id?: string
          table_name?: string
        }
        Relationships: []
      }
      waitlist_entries: {
        Row: {
          attending_location: string | null
          booking_code: string | null
          booking_id: string | null
          closed_reason: string | null
          contact_id: string
          dominant_hand: string | null
          hubspot_id: string | null
          hubspot_last_sync_at: string | null
          id: number
          joined_at: string
          mock_exam_id: string
          offer_expires_at: string | null
          offered_at: string | null
          resolved_at: string | null
          status: string
          student_id: string
          sync_id: string
        }
        Insert: {
          attending_location?: string | null
          booking_code?: never
          booking_id?: string | null
          closed_reason?: string | null
          contact_id: string
          dominant_hand?: string | null
          hubspot_id?: string | null
          hubspot_last_sync_at?: string | null
          id?: number
          joined_at?: string
          mock_exam_id: string
          offer_expires_at?: string | null
          offered_at?: string | null
          resolved_at?: string | null
          status?: string
          student_id: string
          sync_id?: string
        }
        Update: {
          attending_location?: string | null
          booking_code?: never
          booking_id?: string | null
          closed_reason?: string | null
          contact_id?: string
          dominant_hand?: string | null
          hubspot_id?: string | null
          hubspot_last_sync_at?: string | null
          id?: number
          joined_at?: string
          mock_exam_id?: string
          offer_expires_at?: string | null
          offered_at?: string | null
          resolved_at?: string | null
          status?: string
          student_id?: string
          sync_id?: string
        }
        Relationships: []
      }
      webhook_events: {
        Row: {
          attempts: number
          event_id: number
          id: number
          last_error: string | null
          leased_until: string | null
          object_id: string
          object_type_id: string
          occurred_at: string
          payload: NonNullable<Json>
          processed_at: string | null
          received_at: string
          subscription_id: number
          subscription_type: string
        }
        Insert: {
          attempts?: number
          event_id: number
          id?: number
          last_error?: string | null
          leased_until?: string | null
          object_id: string
          object_type_id: string
          occurred_at: string
          payload: NonNullable<Json>
          processed_at?: string | null
          received_at?: string
          subscription_id?: number
          subscription_type: string
        }
        Update: {
          attempts?: number
          event_id?: number
          id?: number
          last_error?: string | null
          leased_until?: string | null
          object_id?: string
          object_type_id?: string
          occurred_at?: string
          payload?: NonNullable<Json>
          processed_at?: string | null
          received_at?: string
          subscription_id?: number
          subscription_type?: string
        }
        Relationships: []
      }
      work_check_bookings: {
        Row: {
          cancelled_at: string | null
          confirmed_at: string | null
          created_at: string | null
          id: string
          lab: string | null
          marked_at: string | null
          seat: number | null
          slot_id: string
          status: string
          student_id: string
          type: string | null
        }
        Insert: {
          cancelled_at?: string | null
          confirmed_at?: string | null
          created_at?: string | null
          id?: string
          lab?: string | null
          marked_at?: string | null
          seat?: number | null
          slot_id: string
          status?: string
          student_id: string
          type?: string | null
        }
        Update: {
          cancelled_at?: string | null
          confirmed_at?: string | null
          created_at?: string | null
          id?: string
          lab?: string | null
          marked_at?: string | null
          seat?: number | null
          slot_id?: string
          status?: string
          student_id?: string
          type?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "work_check_bookings_slot_id_fkey"
            columns: ["slot_id"]
            isOneToOne: false
            referencedRelation: "work_check_slots"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "work_check_bookings_student_id_fkey"
            columns: ["student_id"]
            isOneToOne: false
            referencedRelation: "hubspot_contact_credits"
            referencedColumns: ["student_id"]
          },
        ]
      }
      work_check_slots: {
        Row: {
          auto_approve: boolean
          available_from: string | null
          created_at: string | null
          duration_minutes: number
          group_id: string[]
          id: string
          instructor_id: string
          is_active: boolean | null
          location: string | null
          slot_date: string
          slot_time: string
          total_slots: number
          updated_at: string | null
        }
        Insert: {
          auto_approve?: boolean
          available_from?: string | null
          created_at?: string | null
          duration_minutes?: number
          group_id: string[]
          id?: string
          instructor_id: string
          is_active?: boolean | null
          location?: string | null
          slot_date: string
          slot_time: string
          total_slots?: number
          updated_at?: string | null
        }
        Update: {
          auto_approve?: boolean
          available_from?: string | null
          created_at?: string | null
          duration_minutes?: number
          group_id?: string[]
          id?: string
          instructor_id?: string
          is_active?: boolean | null
          location?: string | null
          slot_date?: string
          slot_time?: string
          total_slots?: number
          updated_at?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "work_check_slots_instructor_id_fkey"
            columns: ["instructor_id"]
            isOneToOne: false
            referencedRelation: "instructors"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Views: {
      booking_analytics: {
        Row: {
          active: number | null
          avg_capacity: number | null
          avg_utilization: number | null
          bookings: number | null
          cancellations: number | null
          completed: number | null
          exams: number | null
          mock_type: string | null
          week: string | null
        }
        Relationships: []
      }
      credit_usage: {
        Row: {
          adjusted: number | null
          credit_field: string | null
          entries: number | null
          imported: number | null
          net: number | null
          rebooked: number | null
          refunded: number | null
          spent: number | null
          week: string | null
        }
        Relationships: []
      }
      daily_booking_trends: {
        Row: {
          active: number | null
          bookings: number | null
          cancellations: number | null
          completed: number | null
          day: string | null
          location: string | null
          mock_type: string | null
        }
        Relationships: []
      }
      exam_utilization: {
        Row: {
          active: number | null
          attended: number | null
          bookings: number | null
          cancelled: number | null
          capacity: number | null
          completed: number | null
          exam_date: string | null
          hubspot_id: string | null
          is_active: string | null
          location: string | null
          mock_exam_name: string | null
          mock_type: string | null
          no_shows: number | null
          utilization: number | null
        }
        Relationships: []
      }
      sync_health: {
        Row: {
          dead_letters: number | null
          errors_last_hour: number | null
          last_pull_at: string | null
          last_push_at: string | null
          last_refresh_at: string | null
          oldest_pending_at: string | null
          oldest_pending_seconds: number | null
          pending: number | null
        }
        Relationships: []
      }
    }
    Functions: {
      accept_offer: {
        Args: { p_email: string; p_mock_exam_id: string; p_student_id: string }
        Returns: Json
      }
      adjust_credits: {
        Args: {
          p_actor: string
          p_credit_field: string
          p_delta: number
          p_idempotency_key?: string
          p_reason: string
          p_student_id: string
        }
        Returns: Json
      }
      admin_create_booking: {
        Args: {
          p_actor: string
          p_attending_location?: string
          p_dominant_hand?: string
          p_email: string
          p_idempotency_key: string
          p_mock_exam_id: string
          p_override_capacity?: boolean
          p_student_id: string
        }
        Returns: Json
      }
      business_today: { Args: Record<PropertyKey, never>; Returns: string }
      cancel_booking: {
        Args: {
          p_actor?: string
          p_booking_id: string
          p_idempotency_key?: string
          p_reason?: string
          p_refund?: boolean
          p_student_id?: string
        }
        Returns: Json
      }
      cancel_booking_atomic: {
        Args: {
          p_booking_id: string
          p_credit_field: string
          p_restored_credit_value: number
        }
        Returns: Json
      }
      cancel_bookings: {
        Args: {
          p_actor?: string
          p_booking_ids: string[]
          p_idempotency_key?: string
          p_refund?: boolean
        }
        Returns: Json
      }
      check_idempotency_key: {
        Args: { p_idempotency_key: string }
        Returns: Json
      }
      complete_past_bookings: { Args: { p_actor?: string }; Returns: Json }
      create_booking: {
        Args: {
          p_attending_location?: string
          p_booking_id?: string
          p_dominant_hand?: string
          p_email: string
          p_idempotency_key: string
          p_mock_exam_id: string
          p_mock_set?: string
          p_student_id: string
          p_student_name?: string
        }
        Returns: Json
      }
      create_booking_atomic: {
        Args: {
          p_attending_location: string
          p_booking_id: string
          p_credit_field: string
          p_dominant_hand: string
          p_idempotency_key: string
          p_mock_exam_id: string
          p_mock_set?: string
          p_new_credit_value: number
          p_student_email: string
          p_student_id: string
          p_student_name: string
          p_token_used: string
        }
        Returns: Json
      }
      create_booking_atomic_v1: {
        Args: {
          p_attending_location: string
          p_booking_id: string
          p_credit_field: string
          p_dominant_hand: string
          p_idempotency_key: string
          p_mock_exam_id: string
          p_new_credit_value: number
          p_student_email: string
          p_student_id: string
          p_student_name: string
          p_token_used: string
        }
        Returns: Json
      }
      credit_rules: {
        Args: Record<PropertyKey, never>
        Returns: {
          credit_field: string
          mock_type: string
          priority: number
          token_used: string
        }[]
      }
      get_booking: {
        Args: { p_booking_id?: string; p_hubspot_id?: string; p_id?: string }
        Returns: {
          associated_contact_id: string | null
          associated_mock_exam: string | null
          attendance: string | null
          attending_location: string | null
          booking_id: string | null
          created_at: string | null
          dominant_hand: string | null
          end_time: string | null
          exam_date: string | null
          hubspot_id: string | null
          hubspot_last_sync_at: string | null
          id: string
          idempotency_fingerprint: string | null
          idempotency_key: string | null
          is_active: string | null
          legacy_booking_id: string | null
          legacy_issue: string | null
          mock_set: Database["hubspot_sync"]["Enums"]["mock_set_letter"] | null
          mock_type: string | null
          name: string | null
          ndecc_exam_date: string | null
          start_time: string | null
          student_email: string | null
          student_id: string | null
          synced_at: string | null
          token_refund_admin: string | null
          token_refunded: boolean | null
          token_refunded_at: string | null
          token_used: string | null
          updated_at: string | null
        }
        SetofOptions: {
          from: "*"
          to: "hubspot_bookings"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      get_changed_fields: {
        Args: { new_row: Json; old_row: Json }
        Returns: string[]
      }
      get_contact_credits: {
        Args: {
          p_email?: string
          p_hubspot_id?: string
          p_id?: string
          p_student_id?: string
        }
        Returns: {
          created_at: string | null
          cs_credits: number | null
          email: string
          firstname: string | null
          hubspot_id: string | null
          hubspot_last_sync_at: string | null
          id: string
          lastname: string | null
          mock_discussion_token: number | null
          ndecc_exam_date: string | null
          shared_mock_credits: number | null
          sj_credits: number | null
          sjmini_credits: number | null
          student_id: string
          synced_at: string | null
          updated_at: string | null
        }
        SetofOptions: {
          from: "*"
          to: "hubspot_contact_credits"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      get_credit_summary: {
        Args: { p_email: string; p_student_id: string }
        Returns: {
          available: Json
          contact_id: string
          cs_credits: number
          email: string
          firstname: string
          hubspot_id: string
          lastname: string
          mock_discussion_token: number
          shared_mock_credits: number
          sj_credits: number
          sjmini_credits: number
          student_id: string
        }[]
      }
      increment_exam_bookings: {
        Args: { p_delta: number; p_exam_id: string }
        Returns: number
      }
      join_waitlist: {
        Args: {
          p_attending_location?: string
          p_dominant_hand?: string
          p_email: string
          p_mock_exam_id: string
          p_student_id: string
        }
        Returns: Json
      }
      leave_waitlist: {
        Args: { p_mock_exam_id: string; p_student_id: string }
        Returns: Json
      }
      list_available_exams: {
        Args: {
          p_from?: string
          p_include_unbookable?: boolean
          p_location?: string
          p_mock_type?: string
          p_student_id?: string
          p_to?: string
        }
        Returns: {
          capacity: number
          end_time: string
          ends_at: string
          exam_date: string
          held_seats: number
          id: string
          is_full: boolean
          location: string
          mock_exam_id: string
          mock_exam_name: string
          mock_set: Database["hubspot_sync"]["Enums"]["mock_set_letter"]
          mock_type: string
          prerequisite_exam_ids: string[]
          reason: string
          remaining_seats: number
          start_time: string
          starts_at: string
          time_zone: string
          total_bookings: number
          waiting: number
        }[]
      }
      list_contact_bookings: {
        Args: { p_status?: string; p_student_id: string }
        Returns: {
          attendance: string
          attending_location: string
          booking_id: string
          created_at: string
          dominant_hand: string
          end_time: string
          ends_at: string
          exam_date: string
          hubspot_id: string
          id: string
          is_active: string
          location: string
          mock_exam_id: string
          mock_exam_name: string
          mock_set: Database["hubspot_sync"]["Enums"]["mock_set_letter"]
          mock_type: string
          name: string
          offer_expires_at: string
          start_time: string
          starts_at: string
          student_email: string
          student_id: string
          time_zone: string
          token_refunded: boolean
          token_refunded_at: string
          token_used: string
          updated_at: string
          waitlist_id: number
          waitlist_position: number
        }[]
      }
      mark_attendance: {
        Args: { p_actor?: string; p_idempotency_key?: string; p_updates: Json }
        Returns: Json
      }
      process_waitlist: { Args: { p_actor?: string }; Returns: Json }
      rebook: {
        Args: {
          p_actor?: string
          p_booking_id: string
          p_idempotency_key: string
          p_new_mock_exam_id: string
        }
        Returns: Json
      }
      request_refresh: {
        Args: {
          p_booking_id?: string
          p_mock_exam_id?: string
          p_student_id?: string
        }
        Returns: Json
      }
      set_booking_rule: {
        Args: { p_actor?: string; p_rule: string; p_value: Json }
        Returns: Json
      }
      set_business_timezone: {
        Args: { p_actor?: string; p_zone: string }
        Returns: Json
      }
      set_exam_capacity: {
        Args: {
          p_capacity: number
          p_idempotency_key?: string
          p_mock_exam_id: string
        }
        Returns: Json
      }
      set_exam_prerequisites: {
        Args: {
          p_exam_id: string
          p_idempotency_key?: string
          p_prerequisite_ids: string[]
        }
        Returns: Json
      }
      set_realtime_broadcasts: {
        Args: { p_actor?: string; p_enabled: boolean }
        Returns: Json
      }
      update_exam_prerequisites: {
        Args: {
          p_add_ids?: string[]
          p_exam_id: string
          p_idempotency_key?: string
          p_remove_ids?: string[]
        }
        Returns: Json
      }
    }
    Enums: {
      mock_set_letter: "A" | "B" | "C" | "D" | "E" | "F" | "G" | "H"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  hubspot_sync: {
    Enums: {
      mock_set_letter: ["A", "B", "C", "D", "E", "F", "G", "H"],
    },
  },
} as const

