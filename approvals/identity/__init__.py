"""Who a reviewer is on the web page: server-side sessions, single sign-on, step-up."""
