// Benchmark peer: the Socket.io chat server from the tutorial
//   "Building Chat Applications with Socket.io" by Mayur Dabhi (May 3, 2026),
//   section "Building the Chat Server", file server.js
//   (local copy: /work/shared/reference/socketio-chat-tutorial.txt, lines 90-216).
//
// The code below this header is the tutorial's server.js verbatim. Changes: none
// apart from this header comment. Notes:
//   - dotenv is installed as a pinned dependency (package.json), so
//     require('dotenv').config() stays; run.sh starts node from this directory,
//     and there is no .env here, so it loads nothing (dotenv logs one line saying so).
//   - express.static serves ./public, which is an empty directory (.gitkeep only):
//     the tutorial's frontend is not needed by the benchmark.
//   - The per-connection console.log lines are kept (they print per connect and
//     disconnect, not per message).
//   - PORT comes from the environment (run.sh sets it; default 3000 as in the tutorial).

require('dotenv').config();
const express = require('express');
const http = require('http');
const { Server } = require('socket.io');
const path = require('path');

const app = express();
const server = http.createServer(app);

const io = new Server(server, {
  cors: {
    origin: process.env.CLIENT_URL || '*',
    methods: ['GET', 'POST'],
  },
  // Ping every 25s, disconnect after 60s of no pong
  pingTimeout: 60000,
  pingInterval: 25000,
});

// Serve frontend
app.use(express.static(path.join(__dirname, 'public')));

// In-memory store: socketId → { username, room }
const users = {};

io.on('connection', (socket) => {
  console.log(`Socket connected: ${socket.id}`);

  // 1. User joins a room
  socket.on('join_room', ({ username, room }) => {
    // Leave any previous room
    const prev = users[socket.id];
    if (prev) {
      socket.leave(prev.room);
      io.to(prev.room).emit('user_left', {
        username: prev.username,
        time: new Date().toISOString(),
      });
    }

    // Register and join
    users[socket.id] = { username, room };
    socket.join(room);

    // Tell the joiner their history (omitted here — add DB lookup)
    socket.emit('room_joined', { room, username });

    // Notify others in the room
    socket.to(room).emit('user_joined', {
      username,
      time: new Date().toISOString(),
    });

    // Broadcast updated user list for this room
    broadcastRoomUsers(room);
  });

  // 2. New chat message
  socket.on('send_message', ({ message, room }) => {
    const user = users[socket.id];
    if (!user) return;

    const payload = {
      id: `${Date.now()}-${socket.id}`,
      username: user.username,
      message,
      time: new Date().toISOString(),
    };

    // Emit to everyone in the room (including sender)
    io.to(room).emit('receive_message', payload);
  });

  // 3. Typing indicator
  socket.on('typing', ({ room, isTyping }) => {
    const user = users[socket.id];
    if (!user) return;
    socket.to(room).emit('user_typing', {
      username: user.username,
      isTyping,
    });
  });

  // 4. Private message
  socket.on('private_message', ({ toSocketId, message }) => {
    const sender = users[socket.id];
    if (!sender) return;

    const payload = {
      from: sender.username,
      fromId: socket.id,
      message,
      time: new Date().toISOString(),
    };

    // Send to recipient
    io.to(toSocketId).emit('private_message', payload);
    // Echo back to sender
    socket.emit('private_message', { ...payload, isSelf: true });
  });

  // 5. Cleanup on disconnect
  socket.on('disconnect', () => {
    const user = users[socket.id];
    if (user) {
      socket.to(user.room).emit('user_left', {
        username: user.username,
        time: new Date().toISOString(),
      });
      delete users[socket.id];
      broadcastRoomUsers(user.room);
    }
    console.log(`Socket disconnected: ${socket.id}`);
  });
});

function broadcastRoomUsers(room) {
  const roomUsers = Object.values(users)
    .filter(u => u.room === room)
    .map(u => u.username);
  io.to(room).emit('room_users', roomUsers);
}

const PORT = process.env.PORT || 3000;
server.listen(PORT, () => {
  console.log(`Chat server running on http://localhost:${PORT}`);
});
