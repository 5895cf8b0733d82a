---@meta nakama
-- Lua Language Server annotations for nkhost's `nk` module (`local nk = require("nakama")`).
-- Written by `nkhost annotations DIR`; never loaded by the server. Every function of the
-- runtime's nk table is declared here with the parameters its binding takes (checked by
-- tests/runtime/test_annotations.py), so completion shows what nkhost really accepts.

---@class nk.Context The context every registered function gets as its first argument.
---@field env table<string, string> runtime.env from the config
---@field execution_mode string "rpc", "before", "after", "run_once", "shutdown", "event" or "match"
---@field node string the node name
---@field version string the server version
---@field runtime_generation integer the generation of the modules running this call (1, 2, ... per reload)
---@field headers table<string, string[]> HTTP request headers (RPCs over HTTP)
---@field query_params table<string, string[]> HTTP query parameters (RPCs over HTTP)
---@field user_id? string the caller's user id, when a user called
---@field username? string the caller's username
---@field user_session_exp? integer the session token's expiry (unix seconds)
---@field vars? table<string, string> the session's vars
---@field session_id? string the realtime session id, on socket calls
---@field lang? string the session's language tag
---@field client_ip? string
---@field client_port? string
---@field trace_id? string
---@field match_id? string in a match handler: the match id
---@field match_node? string in a match handler: the node running it
---@field match_label? string in a match handler: the current label

---@class nk.Presence A user's session on a stream or in a match.
---@field user_id string
---@field session_id string
---@field username string
---@field node string
---@field status? string
---@field hidden? boolean
---@field persistence? boolean

---@class nk.Stream Identifies a stream: mode plus optional subject, subcontext and label.
---@field mode integer
---@field subject? string
---@field subcontext? string
---@field label? string

---@class nk.MatchMessage One message a match_loop receives.
---@field sender nk.Presence
---@field op_code integer
---@field data string
---@field reliable boolean
---@field receive_time_ms integer

---@class nk.MatchDispatcher What an authoritative match's callbacks use to reach their players.
local dispatcher = {}

---Send data to every presence in the match, or to `presences` only.
---@param op_code integer
---@param data? string
---@param presences? nk.Presence[]
---@param sender? nk.Presence
---@param reliable? boolean default true
function dispatcher.broadcast_message(op_code, data, presences, sender, reliable) end

---As broadcast_message, but sent at the end of the current tick.
---@param op_code integer
---@param data? string
---@param presences? nk.Presence[]
---@param sender? nk.Presence
---@param reliable? boolean default true
function dispatcher.broadcast_message_deferred(op_code, data, presences, sender, reliable) end

---Remove presences from the match.
---@param presences nk.Presence[]
function dispatcher.match_kick(presences) end

---Set the match label that nk.match_list and the match listing query.
---@param label string
function dispatcher.match_label_update(label) end

---@class nk.MatchHandler The table a match module returns (its name goes to nk.match_create).
---@field match_init fun(context: nk.Context, params: table): table, integer, string
---@field match_join_attempt fun(context: nk.Context, dispatcher: nk.MatchDispatcher, tick: integer, state: table, presence: nk.Presence, metadata: table<string, string>): table, boolean, string?
---@field match_join fun(context: nk.Context, dispatcher: nk.MatchDispatcher, tick: integer, state: table, presences: nk.Presence[]): table?
---@field match_leave fun(context: nk.Context, dispatcher: nk.MatchDispatcher, tick: integer, state: table, presences: nk.Presence[]): table?
---@field match_loop fun(context: nk.Context, dispatcher: nk.MatchDispatcher, tick: integer, state: table, messages: nk.MatchMessage[]): table?
---@field match_terminate fun(context: nk.Context, dispatcher: nk.MatchDispatcher, tick: integer, state: table, grace_seconds: integer): table?
---@field match_signal fun(context: nk.Context, dispatcher: nk.MatchDispatcher, tick: integer, state: table, data: string): table?, string?

---@class nk
local nk = {}

-- Registrations (only at a module's top level) ---------------------------------------------

---Register `fn` as the RPC `id` (case-insensitive); it returns a string or nil.
---@param fn fun(context: nk.Context, payload: string): string?
---@param id string
function nk.register_rpc(fn, id) end

---Run `fn` before the REST/API request `api_name`; return the request (maybe changed) or nil to reject it.
---@param fn fun(context: nk.Context, request: table): table?
---@param api_name string
function nk.register_req_before(fn, api_name) end

---Run `fn` after the REST/API request `api_name` succeeded.
---@param fn fun(context: nk.Context, response: table, request: table)
---@param api_name string
function nk.register_req_after(fn, api_name) end

---Run `fn` before the realtime message `message_name`; return the envelope (maybe changed) or nil to drop it.
---@param fn fun(context: nk.Context, envelope: table): table?
---@param message_name string
function nk.register_rt_before(fn, message_name) end

---Run `fn` after the realtime message `message_name` was handled.
---@param fn fun(context: nk.Context, out: table?, envelope: table)
---@param message_name string
function nk.register_rt_after(fn, message_name) end

---Run `fn` when the server shuts down.
---@param fn fun(context: nk.Context)
function nk.register_shutdown(fn) end

---Run `fn` for every nk.event (off the caller's path, in registration order).
---@param fn fun(context: nk.Context, event: table)
function nk.register_event(fn) end

---Accepted and stored; nkhost has no matchmaker yet, so it is never called.
---@param fn fun(context: nk.Context, matched: table[]): string?
function nk.register_matchmaker_matched(fn) end

---Accepted and stored; nkhost has no tournaments yet, so it is never called.
---@param fn function
function nk.register_tournament_end(fn) end

---Accepted and stored; nkhost has no tournaments yet, so it is never called.
---@param fn function
function nk.register_tournament_reset(fn) end

---Accepted and stored; nkhost has no leaderboards yet, so it is never called.
---@param fn function
function nk.register_leaderboard_reset(fn) end

---Accepted and stored; nkhost has no storage indexes yet, so it is never built.
---@param name string
---@param collection string
---@param key string
---@param fields string[]
---@param sortable string[]
---@param max_entries integer
---@param index_only? boolean
function nk.register_storage_index(name, collection, key, fields, sortable, max_entries, index_only) end

---Accepted and stored; nkhost has no storage indexes yet, so it is never called.
---@param name string
---@param fn function
function nk.register_storage_index_filter(name, fn) end

---Run `fn` once per server (not once per VM), at load time.
---@param fn fun(context: nk.Context)
function nk.run_once(fn) end

---The context of the running call (a run_once context at load time).
---@return nk.Context
function nk.get_context() end

-- Streams and sessions ---------------------------------------------------------------------

---Add a session to a stream; false when it was there already.
---@param user_id string
---@param session_id string
---@param stream nk.Stream
---@param hidden? boolean
---@param persistence? boolean
---@param status? string
---@return boolean joined
function nk.stream_user_join(user_id, session_id, stream, hidden, persistence, status) end

---Change a session's presence flags and status on a stream.
---@param user_id string
---@param session_id string
---@param stream nk.Stream
---@param hidden? boolean
---@param persistence? boolean
---@param status? string
---@return boolean updated
function nk.stream_user_update(user_id, session_id, stream, hidden, persistence, status) end

---Remove a session from a stream.
---@param user_id string
---@param session_id string
---@param stream nk.Stream
function nk.stream_user_leave(user_id, session_id, stream) end

---Remove a presence from a stream.
---@param presence nk.Presence
---@param stream nk.Stream
function nk.stream_user_kick(presence, stream) end

---A session's presence on a stream, or nil.
---@param user_id string
---@param session_id string
---@param stream nk.Stream
---@return nk.Presence?
function nk.stream_user_get(user_id, session_id, stream) end

---The presences on a stream.
---@param stream nk.Stream
---@param include_hidden? boolean default true
---@param include_not_hidden? boolean default true
---@return nk.Presence[]
function nk.stream_user_list(stream, include_hidden, include_not_hidden) end

---How many presences a stream has.
---@param stream nk.Stream
---@return integer
function nk.stream_count(stream) end

---Remove every presence from a stream.
---@param stream nk.Stream
function nk.stream_close(stream) end

---Send data (a stream_data message) to a stream's presences, or to `presences` only.
---@param stream nk.Stream
---@param data string
---@param presences? nk.Presence[]
---@param reliable? boolean default true
function nk.stream_send(stream, data, presences, reliable) end

---Send a raw envelope (a JSON-shaped table) to a stream's presences.
---@param stream nk.Stream
---@param envelope table
---@param presences? nk.Presence[]
---@param reliable? boolean default true
function nk.stream_send_raw(stream, envelope, presences, reliable) end

---Close a realtime session.
---@param session_id string
---@param reason? integer
function nk.session_disconnect(session_id, reason) end

---Start following users' status updates from a session.
---@param session_id string
---@param user_ids string[]
function nk.status_follow(session_id, user_ids) end

---Stop following users' status updates from a session.
---@param session_id string
---@param user_ids string[]
function nk.status_unfollow(session_id, user_ids) end

-- Storage ----------------------------------------------------------------------------------

---Read storage objects by {collection, key, user_id}.
---@param keys table[]
---@return table[] objects
function nk.storage_read(keys) end

---Write storage objects ({collection, key, user_id, value, version?, permission_read?, permission_write?}).
---@param data table[]
---@return table[] acks
function nk.storage_write(data) end

---Delete storage objects by {collection, key, user_id, version?}.
---@param keys table[]
function nk.storage_delete(keys) end

---List a collection's objects (of one user, or public ones).
---@param user_id? string
---@param collection string
---@param limit? integer default 100
---@param cursor? string
---@param caller_id? string
---@return table[] objects
---@return string? cursor
function nk.storage_list(user_id, collection, limit, cursor, caller_id) end

-- Accounts, users, wallets -----------------------------------------------------------------

---One account by user id.
---@param user_id string
---@return table account
function nk.account_get_id(user_id) end

---Accounts by user ids.
---@param user_ids string[]
---@return table[] accounts
function nk.accounts_get_id(user_ids) end

---Update an account's profile fields (nil leaves a field unchanged).
---@param user_id string
---@param metadata? table
---@param username? string
---@param display_name? string
---@param timezone? string
---@param location? string
---@param lang_tag? string
---@param avatar_url? string
function nk.account_update_id(user_id, metadata, username, display_name, timezone, location, lang_tag, avatar_url) end

---Users by ids (and Facebook ids).
---@param user_ids string[]
---@param facebook_ids? string[]
---@return table[] users
function nk.users_get_id(user_ids, facebook_ids) end

---Users by usernames.
---@param usernames string[]
---@return table[] users
function nk.users_get_username(usernames) end

---Add to (or subtract from) a user's wallet.
---@param user_id string
---@param changeset table<string, number>
---@param metadata? table
---@param update_ledger? boolean default false
---@return table updated
---@return table previous
function nk.wallet_update(user_id, changeset, metadata, update_ledger) end

---Update several wallets in one transaction ({user_id, changeset, metadata?} each).
---@param updates table[]
---@param update_ledger? boolean default false
---@return table[] results
function nk.wallets_update(updates, update_ledger) end

---A user's wallet ledger, newest first.
---@param user_id string
---@param limit? integer default 100
---@param cursor? string
---@return table[] items
---@return string? cursor
function nk.wallet_ledger_list(user_id, limit, cursor) end

---Merge metadata into a ledger item.
---@param item_id string
---@param metadata table
---@return table item
function nk.wallet_ledger_update(item_id, metadata) end

-- Friends, groups --------------------------------------------------------------------------

---A user's friends.
---@param user_id string
---@param limit? integer
---@param state? integer 0 friend, 1 invite sent, 2 invite received, 3 blocked
---@param cursor? string
---@return table[] friends
---@return string? cursor
function nk.friends_list(user_id, limit, state, cursor) end

---Add friends (by ids or usernames) for a user.
---@param user_id string
---@param username string
---@param ids? string[]
---@param usernames? string[]
---@param metadata? table
function nk.friends_add(user_id, username, ids, usernames, metadata) end

---Delete friends (by ids or usernames) of a user.
---@param user_id string
---@param username string
---@param ids? string[]
---@param usernames? string[]
function nk.friends_delete(user_id, username, ids, usernames) end

---Block users (by ids or usernames) for a user.
---@param user_id string
---@param username string
---@param ids? string[]
---@param usernames? string[]
function nk.friends_block(user_id, username, ids, usernames) end

---Set the metadata of a friendship.
---@param user_id string
---@param friend_user_id string
---@param metadata table
function nk.friend_metadata_update(user_id, friend_user_id, metadata) end

---Create a group.
---@param user_id string
---@param name string
---@param creator_id? string
---@param lang_tag? string
---@param description? string
---@param avatar_url? string
---@param open? boolean
---@param metadata? table
---@param max_count? integer
---@return table group
function nk.group_create(user_id, name, creator_id, lang_tag, description, avatar_url, open, metadata, max_count) end

---Update a group's fields (nil leaves a field unchanged).
---@param group_id string
---@param user_id? string
---@param name? string
---@param creator_id? string
---@param lang_tag? string
---@param description? string
---@param avatar_url? string
---@param open? boolean
---@param metadata? table
---@param max_count? integer
function nk.group_update(group_id, user_id, name, creator_id, lang_tag, description, avatar_url, open, metadata, max_count) end

---Delete a group.
---@param group_id string
function nk.group_delete(group_id) end

---Groups by ids.
---@param group_ids string[]
---@return table[] groups
function nk.groups_get_id(group_ids) end

---List groups by name prefix, language, openness or size.
---@param name? string
---@param lang_tag? string
---@param open? boolean
---@param members? integer
---@param limit? integer
---@param cursor? string
---@return table[] groups
---@return string? cursor
function nk.groups_list(name, lang_tag, open, members, limit, cursor) end

---Join a group (or request to, if it is closed).
---@param group_id string
---@param user_id string
---@param username string
function nk.group_user_join(group_id, user_id, username) end

---Leave a group.
---@param group_id string
---@param user_id string
---@param username string
function nk.group_user_leave(group_id, user_id, username) end

---Add users to a group.
---@param group_id string
---@param user_ids string[]
---@param caller_id? string
function nk.group_users_add(group_id, user_ids, caller_id) end

---Ban users from a group.
---@param group_id string
---@param user_ids string[]
---@param caller_id? string
function nk.group_users_ban(group_id, user_ids, caller_id) end

---Demote group members one rank.
---@param group_id string
---@param user_ids string[]
---@param caller_id? string
function nk.group_users_demote(group_id, user_ids, caller_id) end

---Kick users from a group.
---@param group_id string
---@param user_ids string[]
---@param caller_id? string
function nk.group_users_kick(group_id, user_ids, caller_id) end

---Promote group members one rank.
---@param group_id string
---@param user_ids string[]
---@param caller_id? string
function nk.group_users_promote(group_id, user_ids, caller_id) end

---A group's members.
---@param group_id string
---@param limit? integer
---@param state? integer
---@param cursor? string
---@return table[] members
---@return string? cursor
function nk.group_users_list(group_id, limit, state, cursor) end

---The groups a user is in.
---@param user_id string
---@param limit? integer
---@param state? integer
---@param cursor? string
---@return table[] groups
---@return string? cursor
function nk.user_groups_list(user_id, limit, state, cursor) end

-- Chat, notifications ----------------------------------------------------------------------

---The channel id of a room, group or direct chat.
---@param sender_id? string
---@param target string room name, group id or other user id
---@param kind integer 1 room, 2 direct, 3 group
---@return string channel_id
function nk.channel_id_build(sender_id, target, kind) end

---Send a chat message to a channel.
---@param channel_id string
---@param content table
---@param sender_id? string
---@param sender_username? string
---@param persist? boolean default true
---@return table ack
function nk.channel_message_send(channel_id, content, sender_id, sender_username, persist) end

---Replace a chat message's content.
---@param channel_id string
---@param message_id string
---@param content table
---@param sender_id? string
---@param sender_username? string
---@param persist? boolean default true
---@return table ack
function nk.channel_message_update(channel_id, message_id, content, sender_id, sender_username, persist) end

---Remove a chat message.
---@param channel_id string
---@param message_id string
---@param sender_id? string
---@param sender_username? string
---@param persist? boolean default true
---@return table ack
function nk.channel_message_remove(channel_id, message_id, sender_id, sender_username, persist) end

---A channel's stored messages.
---@param channel_id string
---@param limit? integer default 100
---@param forward? boolean default true
---@param cursor? string
---@return table[] messages
---@return string? next_cursor
---@return string? prev_cursor
function nk.channel_messages_list(channel_id, limit, forward, cursor) end

---Send one notification to a user.
---@param user_id string
---@param subject string
---@param content table
---@param code integer
---@param sender_id? string
---@param persistent? boolean default false
function nk.notification_send(user_id, subject, content, code, sender_id, persistent) end

---Send one notification to every user.
---@param subject string
---@param content table
---@param code integer
---@param persistent? boolean default false
function nk.notification_send_all(subject, content, code, persistent) end

---Send several notifications ({user_id, subject, content, code, sender_id?, persistent?} each).
---@param notifications table[]
function nk.notifications_send(notifications) end

---A user's stored notifications.
---@param user_id string
---@param limit? integer
---@param cursor? string
---@return table[] notifications
---@return string? cursor
function nk.notifications_list(user_id, limit, cursor) end

---Notifications by ids (of one user, when given).
---@param ids string[]
---@param user_id? string
---@return table[] notifications
function nk.notifications_get_id(ids, user_id) end

---Delete notifications ({user_id, notification_id} each).
---@param notifications table[]
function nk.notifications_delete(notifications) end

---Delete notifications by ids (of one user, when given).
---@param ids string[]
---@param user_id? string
function nk.notifications_delete_id(ids, user_id) end

---Update stored notifications ({id, user_id, subject?, content?, sender?} each).
---@param updates table[]
function nk.notifications_update(updates) end

-- Matches, parties -------------------------------------------------------------------------

---Start an authoritative match run by the match module `module`; returns its id.
---@param module string a module that returns an nk.MatchHandler
---@param params? table passed to match_init
---@return string match_id
function nk.match_create(module, params) end

---One match by id, or nil.
---@param match_id string
---@return table? match
function nk.match_get(match_id) end

---List matches, by size, label or a label query.
---@param limit? integer default 1
---@param authoritative? boolean
---@param label? string
---@param min_size? integer
---@param max_size? integer
---@param query? string
---@return table[] matches
function nk.match_list(limit, authoritative, label, min_size, max_size, query) end

---Send data to a running match's match_signal; returns its reply.
---@param match_id string
---@param data? string
---@return string reply
function nk.match_signal(match_id, data) end

---List parties.
---@param limit? integer
---@param open? boolean
---@param show_hidden? boolean
---@param query? string
---@param cursor? string
---@return table[] parties
---@return string? cursor
function nk.party_list(limit, open, show_hidden, query, cursor) end

-- Events, HTTP, cache, logging -------------------------------------------------------------

---Queue an event for the register_event functions.
---@param name string
---@param properties? table<string, string>
---@param timestamp? integer unix seconds
---@param external? boolean
function nk.event(name, properties, timestamp, external) end

---Make an outgoing HTTP request (subject to runtime.http_* limits).
---@param url string
---@param method string
---@param headers? table<string, string>
---@param content? string
---@param timeout_ms? integer
---@param insecure? boolean
---@return integer code
---@return table<string, string> headers
---@return string body
function nk.http_request(url, method, headers, content, timeout_ms, insecure) end

---A value from the node's shared cache, or `default`.
---@param key string
---@param default? any
---@return any
function nk.localcache_get(key, default) end

---Store a value in the node's shared cache (seen by every VM).
---@param key string
---@param value any
---@param ttl? integer seconds
function nk.localcache_put(key, value, ttl) end

---Remove a key from the node's shared cache.
---@param key string
function nk.localcache_delete(key) end

---Empty the node's shared cache.
function nk.localcache_clear() end

---Log at debug level; returns the message.
---@param message string
---@return string
function nk.logger_debug(message) end

---Log at info level; returns the message.
---@param message string
---@return string
function nk.logger_info(message) end

---Log at warn level; returns the message.
---@param message string
---@return string
function nk.logger_warn(message) end

---Log at error level; returns the message.
---@param message string
---@return string
function nk.logger_error(message) end

-- Encoding, hashing, ids, time -------------------------------------------------------------

---Encode a table (or value) as JSON.
---@param value any
---@return string
function nk.json_encode(value) end

---Decode JSON text into Lua values.
---@param text string
---@return any
function nk.json_decode(text) end

---UTC milliseconds since the epoch: now, or of the date in `fields` ({year, month, day, ...}).
---@param fields? table
---@return integer
function nk.time(fields) end

---A random UUID in the 36-character form.
---@return string
function nk.uuid_v4() end

---The 36-character form of a 16-byte UUID.
---@param b string 16 raw bytes
---@return string
function nk.uuid_bytes_to_string(b) end

---The 16 raw bytes of a UUID.
---@param s string
---@return string
function nk.uuid_string_to_bytes(s) end

---Standard base64.
---@param s string
---@param padding? boolean default true
---@return string
function nk.base64_encode(s, padding) end

---Decode standard base64.
---@param s string
---@param padding? boolean default true
---@return string
function nk.base64_decode(s, padding) end

---URL-safe base64.
---@param s string
---@param padding? boolean default true
---@return string
function nk.base64url_encode(s, padding) end

---Decode URL-safe base64.
---@param s string
---@param padding? boolean default false
---@return string
function nk.base64url_decode(s, padding) end

---Lowercase hex.
---@param s string
---@return string
function nk.base16_encode(s) end

---Decode hex (either case).
---@param s string
---@return string
function nk.base16_decode(s) end

---MD5 as lowercase hex.
---@param s string
---@return string
function nk.md5_hash(s) end

---SHA-256 as lowercase hex.
---@param s string
---@return string
function nk.sha256_hash(s) end

---HMAC-SHA256 as raw bytes.
---@param s string
---@param key string
---@return string
function nk.hmac_sha256_hash(s, key) end

---`n` bytes from the OS's secure random source.
---@param n integer
---@return string
function nk.secure_random_bytes(n) end

---A bcrypt hash (Go's default cost, "$2a$").
---@param s string
---@return string
function nk.bcrypt_hash(s) end

---Whether `plaintext` matches the bcrypt `hash`.
---@param hash string
---@param plaintext string
---@return boolean
function nk.bcrypt_compare(hash, plaintext) end

---AES-128-CFB with a 16-byte key; returns IV + ciphertext.
---@param s string
---@param key string
---@return string
function nk.aes128_encrypt(s, key) end

---Inverse of aes128_encrypt.
---@param s string
---@param key string
---@return string
function nk.aes128_decrypt(s, key) end

---AES-256-CFB with a 32-byte key; returns IV + ciphertext.
---@param s string
---@param key string
---@return string
function nk.aes256_encrypt(s, key) end

---Inverse of aes256_encrypt.
---@param s string
---@param key string
---@return string
function nk.aes256_decrypt(s, key) end

return nk
