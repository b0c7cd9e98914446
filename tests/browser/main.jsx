// Mounts the product docs' client component (NotificationStream.jsx, copied
// from the docs unchanged) as a Next.js page would.
import { createRoot } from "react-dom/client";
import { NotificationStream } from "./NotificationStream.jsx";

createRoot(document.getElementById("root")).render(<NotificationStream />);
