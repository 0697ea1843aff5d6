declare namespace App {
  interface Locals {
    /** The client's address as src/lib/http/client-address.ts decided it (set by the server entry). */
    clientAddress?: string;
  }
}
