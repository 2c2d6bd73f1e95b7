SET lock_timeout = '5s';
SET check_function_bodies = off;
