"use client";
import { useEffect, useState } from "react";
export function NotificationStream() {
const [notifications, setNotifications] = useState([]);
useEffect(() => {
const eventSource = new EventSource("/api/notifications/stream");
eventSource.onmessage = (event) => {
const data = JSON.parse(event.data);
if (data.type === "notifications") {
setNotifications(data.data);
}
};
return () => eventSource.close();
}, []);
return <div>Unread: {notifications.length}</div>;
}
