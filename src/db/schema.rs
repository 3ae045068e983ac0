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
        failed_logins -> Integer,
        last_failed_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        password_changed_at -> Nullable<Timestamp>,
        locale -> Nullable<Text>,
        role -> Nullable<Text>,
        must_reset_password -> Bool,
        name_key -> Text,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        logo_url -> Nullable<Text>,
        secret_sha256 -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        scopes -> Text,
        grant_types -> Text,
        token_endpoint_auth_method -> Text,
        first_party -> Bool,
        id_token_signed_response_alg -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        first_party_by -> Nullable<Text>,
        first_party_at -> Nullable<Timestamp>,
        access_token_signed_response_alg -> Nullable<Text>,
        min_acr -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        public_jwk -> Text,
        sealed_private -> Binary,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
        unpublish_at -> Nullable<Timestamp>,
        activates_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    grants (grant_id) {
        grant_id -> Text,
        client_id -> Text,
        account_id -> Nullable<BigInt>,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        sid -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_sha256) {
        token_sha256 -> Text,
        grant_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consents (account_id, client_id) {
        account_id -> BigInt,
        client_id -> Text,
        scope -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    backchannel_deliveries (id) {
        id -> Text,
        client_id -> Text,
        logout_uri -> Text,
        logout_token -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        abandoned_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (sid) {
        sid -> Text,
        account_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        last_active_at -> Nullable<Timestamp>,
        device_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    connected_apps (account_id, client_id) {
        account_id -> BigInt,
        client_id -> Text,
        first_used_at -> Timestamp,
        last_used_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        account_id -> Nullable<BigInt>,
        client_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        outcome -> Text,
        detail -> Nullable<Text>,
        actor -> Nullable<Text>,
    }
}

diesel::table! {
    totp_authenticators (account_id) {
        account_id -> BigInt,
        sealed_secret -> Binary,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (account_id, code_digest) {
        account_id -> BigInt,
        code_digest -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    remembered_browsers (id) {
        id -> Text,
        account_id -> BigInt,
        mark_digest -> Text,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    passkeys (passkey_id) {
        passkey_id -> Text,
        account_id -> BigInt,
        credential_id -> Text,
        name -> Text,
        credential -> Text,
        sign_count -> BigInt,
        backup_eligible -> Bool,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(refresh_tokens -> grants (grant_id));
diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    clients,
    grants,
    refresh_tokens,
    consents,
    signing_keys,
    backchannel_deliveries,
    sessions,
    audit_events,
    connected_apps,
    totp_authenticators,
    recovery_codes,
    remembered_browsers,
    passkeys
);
