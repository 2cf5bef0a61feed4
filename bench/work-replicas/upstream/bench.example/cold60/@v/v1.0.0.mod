module bench.example/cold60

go 1.21
