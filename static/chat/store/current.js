// Who is signed in, and the conversation open on the page: a room, and the person
// of a direct conversation (`peer`, also set before we have a room with them), or
// the other people of a group conversation with no room yet (`group`, sorted).
// Set at boot and on navigation.
export const current = { me: "", room: null, peer: null, group: null };
