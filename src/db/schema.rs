//! The one schema, portable across SQLite and PostgreSQL: only types both map the same way.

diesel::table! {
    accounts (account_id) {
        account_id -> BigInt,
        sub -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        display_name -> Text,
        password_hash -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
