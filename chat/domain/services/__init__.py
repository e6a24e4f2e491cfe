"""Every change, by topic: validate, write in a transaction, broadcast on commit.
The transports, the pages, admin and commands all call these (named
<entity>_<action>); none of them writes models directly."""

from chat.domain.services import moderation
from chat.domain.services.accounts import (
    LOOKALIKE_NAME,
    user_signup,
    username_keys_store,
)
from chat.domain.services.messages import (
    Draft,
    SentMessage,
    conversation_message_send,
    direct_message_send,
    message_delete,
    message_draft,
    message_edit,
    message_send,
    messages_send_many,
)
from chat.domain.services.pins import PINS_MAX, message_pin
from chat.domain.services.preferences import (
    RoomNotifyChange,
    email_unsubscribe,
    notification_preferences_save,
    room_notify_set,
    user_settings_update,
)
from chat.domain.services.reactions import ReactionState, reaction_set
from chat.domain.services.reads import room_mark_read
from chat.domain.services.rooms import (
    conversation_get_or_create,
    conversation_leave,
    conversation_people,
    direct_room_get_or_create,
    membership_add,
    refuse_if_over_room_quota,
    room_create,
    room_invite,
    room_join,
)
from chat.domain.services.saved import message_save

__all__ = [
    "LOOKALIKE_NAME",
    "PINS_MAX",
    "Draft",
    "ReactionState",
    "RoomNotifyChange",
    "SentMessage",
    "conversation_get_or_create",
    "conversation_leave",
    "conversation_message_send",
    "conversation_people",
    "direct_message_send",
    "direct_room_get_or_create",
    "email_unsubscribe",
    "membership_add",
    "message_delete",
    "message_draft",
    "message_edit",
    "message_pin",
    "message_save",
    "message_send",
    "messages_send_many",
    "moderation",
    "notification_preferences_save",
    "reaction_set",
    "refuse_if_over_room_quota",
    "room_create",
    "room_invite",
    "room_join",
    "room_mark_read",
    "room_notify_set",
    "user_settings_update",
    "user_signup",
    "username_keys_store",
]
