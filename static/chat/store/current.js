// Who is signed in, and the conversation open on the page: a room, and the person
// of a direct conversation (`peer`, also set before we have a room with them).
// Set at boot and on navigation.
export const current = { me: "", room: null, peer: null };
