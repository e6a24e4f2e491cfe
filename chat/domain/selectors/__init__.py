"""Every read, by topic; access rules through chat.domain.access. Results are
shaped by chat.domain.payloads, so every transport presents the same thing."""

from chat.domain.selectors.mentions import mention_counts, mentions_page
from chat.domain.selectors.messages import (
    RoomSync,
    history_page,
    message_edits,
    room_pins,
    room_sync,
    saved_page,
)
from chat.domain.selectors.preferences import (
    RoomNotify,
    default_notify,
    room_notify_levels,
    user_settings_of,
)
from chat.domain.selectors.rooms import (
    direct_room_between,
    group_room_of,
    room_directory,
    room_members,
    rooms_of_user,
    unread_count,
)
from chat.domain.selectors.users import username_looks_taken

__all__ = [
    "RoomNotify",
    "RoomSync",
    "default_notify",
    "direct_room_between",
    "group_room_of",
    "history_page",
    "mention_counts",
    "mentions_page",
    "message_edits",
    "room_directory",
    "room_members",
    "room_notify_levels",
    "room_pins",
    "room_sync",
    "rooms_of_user",
    "saved_page",
    "unread_count",
    "user_settings_of",
    "username_looks_taken",
]
