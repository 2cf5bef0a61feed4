module bench.example/cold31

go 1.21
