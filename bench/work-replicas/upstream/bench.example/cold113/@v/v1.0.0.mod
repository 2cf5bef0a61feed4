module bench.example/cold113

go 1.21
